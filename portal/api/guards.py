"""Who is calling, as the API views require it: one definition for every app.

Each guard answers 401 to an anonymous caller (so that pvr logs in and asks
again) and 403 to a caller of the wrong kind.
"""

from __future__ import annotations

from rest_framework import exceptions

from portal.auth import device_of, person_of
from portal.errors import Forbidden


def require_login(request) -> None:
    """Anyone logged in, or 401."""
    if not request.user.is_authenticated:
        raise exceptions.NotAuthenticated("log in first: send a bearer token")


def require_person(request):
    """The account calling, or 401 (anonymous) / 403 (a device)."""
    require_login(request)
    person = person_of(request.user)
    if person is None:
        raise Forbidden("devices cannot do this; log in as a user", "person-only")
    return person


def require_device(request):
    """The device calling, or 401 (anonymous) / 403 (a person)."""
    if not request.user.is_authenticated:
        raise exceptions.NotAuthenticated("log in first: send a device's bearer token")
    device = device_of(request.user)
    if device is None:
        raise Forbidden("only a device can do this; log in as the device", "device-only")
    return device
