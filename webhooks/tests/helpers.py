"""Small helpers the webhook tests share (states: the packs tests' ``state``)."""

from __future__ import annotations

import json

from packs.tests.helpers import state

__all__ = ["events_of", "state"]


def events_of(receiver) -> list[str]:
    return [json.loads(request.body)["event"] for request in receiver.requests]
