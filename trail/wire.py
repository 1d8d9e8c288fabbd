"""Facts of the Pantahub wire protocol, spelt once for the hub and the clients.

The hub (portal, devices, revisions) and the clients (``trail``,
``trail-agent``) both import these names; nothing else spells them. Each is
what the real clients send or read (Pantavisor, pvr, pantavisor-mocker):
see docs/api.md, "Compatibility".
"""

from __future__ import annotations

import re
from typing import Final

#: A device's prn: ``prn:::devices:/<id>`` (its login name).
DEVICE_PRN_PREFIX: Final = "prn:::devices:/"
#: A person's prn: ``prn:::accounts:/<id>``.
ACCOUNT_PRN_PREFIX: Final = "prn:::accounts:/"
#: The username and password pvr logs in with before it asks for credentials
#: (pvr libpvr/authlib.go getNewAccessToken).
ANON_PRN: Final = "prn:pantahub.com:auth:/anon"

#: Sent by a device on registration with a factory token (Pantavisor pantahub.c).
AUTO_TOKEN_HEADER: Final = "Pantahub-Devices-Auto-Token-V1"
#: On a 409 to ``POST /objects/``: ``object`` (the owner has it) or ``link``.
OBJECT_TYPE_HEADER: Final = "Pantahub-Object-Type"
#: ``pvr-spec`` of the ``.pvrremote`` discovery document.
PVR_SPEC: Final = "pvr-pantahub-1"
#: Where a hub serves objects by signed URL: ``/local-s3/<token>``. Pantavisor
#: uploads to its own hub from this path on (updater.c, ``strstr(url, "/local-s3")``).
LOCAL_S3: Final = "/local-s3"
#: The realm of every 401's ``WWW-Authenticate``.
REALM: Final = "pantahub services"

_AEPS = re.compile(r'ph-aeps="([^"]+)"')


def device_prn(device_id: str) -> str:
    return DEVICE_PRN_PREFIX + device_id


def account_prn(account_id: str) -> str:
    return ACCOUNT_PRN_PREFIX + account_id


def www_authenticate(aeps_url: str) -> str:
    """A 401's ``WWW-Authenticate``: where to log in (pvr libpvr/session.go reads it)."""
    return f'JWT realm="{REALM}", ph-aeps="{aeps_url}"'


def aeps_of(header: str) -> str | None:
    """The login endpoint a ``WWW-Authenticate`` header names, or None."""
    found = _AEPS.search(header)
    return found.group(1) if found else None
