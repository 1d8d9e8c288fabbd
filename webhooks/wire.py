"""What a receiver sees, spelt once: the event names, the headers, the body and its signature."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any, Final

REVISION_STATUS: Final = "revision.status"
DEVICE_ONLINE: Final = "device.online"
DEVICE_OFFLINE: Final = "device.offline"
ROLLOUT_PAUSED: Final = "rollout.paused"
ROLLOUT_FINISHED: Final = "rollout.finished"
#: Revision proposals (community.signals.proposal_moved): opened, and merged.
PROPOSAL_OPENED: Final = "proposal.opened"
PROPOSAL_MERGED: Final = "proposal.merged"

NAMES: Final = (
    REVISION_STATUS,
    DEVICE_ONLINE,
    DEVICE_OFFLINE,
    ROLLOUT_PAUSED,
    ROLLOUT_FINISHED,
    PROPOSAL_OPENED,
    PROPOSAL_MERGED,
)
ALL: Final = "*"
CHOICES: Final = (*NAMES, ALL)

#: The headers of each delivery.
SIGNATURE_HEADER: Final = "X-Trailhub-Signature-256"
EVENT_HEADER: Final = "X-Trailhub-Event"
DELIVERY_HEADER: Final = "X-Trailhub-Delivery"


def body(event: str, time: dt.datetime, data: dict[str, Any]) -> str:
    """The JSON body of a delivery, ``{"event", "time", "data"}``: these exact bytes are signed."""
    stamp = time.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({"event": event, "time": stamp, "data": data}, separators=(",", ":"))


def signature(secret: str, payload: bytes) -> str:
    """The ``X-Trailhub-Signature-256`` value: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
