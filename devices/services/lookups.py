"""Finding devices: visibility first, then the right to act; nicks.

Every device endpoint starts with one of the ``get_*_device`` helpers.
"""

from __future__ import annotations

import secrets

from django.db.models import Q, QuerySet
from django.http import Http404
from rest_framework import exceptions

from devices.models import (
    Device,
    new_nick,
)
from portal.auth import device_of, person_of
from portal.errors import Conflict, Forbidden
from portal.ids import is_id
from trail.wire import DEVICE_PRN_PREFIX


def device_ref_filter(user, ref: str) -> Q | None:
    """How ``ref`` names a device: an id, a ``prn:::devices:/<id>``, or a nick.

    A nick is only unique per owner, so it names one of the caller's own
    devices (or, for a device, itself).
    """
    ref = (ref or "").strip().removeprefix(DEVICE_PRN_PREFIX)
    if is_id(ref):
        return Q(id=ref)
    person = person_of(user)
    if person is not None:
        return Q(owner=person, nick=ref)
    device = device_of(user)
    if device is not None:
        return Q(id=device.id, nick=ref)
    return None


def get_visible_device(user, ref: str, queryset: QuerySet | None = None) -> Device:
    """The device ``ref`` names, if ``user`` may see it; otherwise 401 or 404.

    ``user`` is a request's user (an account, a DevicePrincipal or anonymous).
    A device an anonymous caller cannot see, private or absent, is a 401, so
    that pvr logs in and asks again (it sends no token until it gets a 401:
    pvr libpvr/session.go DoAuthCall). For everyone else it is a 404, so a
    caller cannot tell "hidden" from "absent". Pass ``queryset`` (a
    ``Device.objects`` queryset, e.g. with ``select_for_update()`` or extra
    ``select_related``) to shape the query; visibility is applied on top.
    """
    condition = device_ref_filter(user, ref)
    if condition is not None:
        base = queryset if queryset is not None else Device.objects.select_related("owner")
        device = base.visible_to(user).filter(condition).first()
        if device is not None:
            return device
    if not getattr(user, "is_authenticated", False):
        raise exceptions.NotAuthenticated(f"no public device {ref}: log in to see your own devices")
    raise Http404(f"no such device: {ref}")


def get_owned_device(user, ref: str, queryset: QuerySet | None = None) -> Device:
    """The device ``ref`` names if ``user`` owns it: 404 when not visible, 403 when not theirs."""
    device = get_visible_device(user, ref, queryset)
    if not device.is_owned_by(user):
        if device.is_itself(user):
            raise Forbidden("a device cannot do this to itself; its owner can", "owner-only")
        raise Forbidden("only the device's owner may do this", "owner-only")
    return device


def get_device_itself(user, ref: str, queryset: QuerySet | None = None) -> Device:
    """The device ``ref`` names if ``user`` is that device: 404 when not visible, else 403."""
    device = get_visible_device(user, ref, queryset)
    if not device.is_itself(user):
        raise Forbidden("only the device itself may do this", "device-only")
    return device


def get_device_for_owner_or_itself(user, ref: str) -> Device:
    """The device if ``user`` is its owner or the device itself (private data such as metadata)."""
    device = get_visible_device(user, ref)
    if not (device.is_owned_by(user) or device.is_itself(user)):
        raise Forbidden("only the device's owner and the device itself may read this", "private")
    return device


# --- Nicks -----------------------------------------------------------------


def nick_taken(owner, nick: str, exclude_id: str | None = None) -> bool:
    if owner is None:
        return False  # unowned devices share no namespace
    taken = Device.objects.filter(owner=owner, nick=nick)
    if exclude_id:
        taken = taken.exclude(id=exclude_id)
    return taken.exists()


def unique_nick(owner, base: str | None = None) -> str:
    """A nick free among ``owner``'s devices: ``base`` itself, ``base-2``, … or a generated one."""
    if base:
        stem = base[:59]
        candidates = [base] + [f"{stem}-{n}" for n in range(2, 100)]
    else:
        candidates = list(dict.fromkeys(new_nick() for _ in range(20)))
    if owner is None:
        return candidates[0]
    taken = set(
        Device.objects.filter(owner=owner, nick__in=candidates).values_list("nick", flat=True)
    )
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    return f"{(base or new_nick())[:56]}-{secrets.token_hex(3)}"


def conflict_nick(nick: str) -> Conflict:
    return Conflict(f"you already have a device called {nick!r}; choose another nick", "nick-taken")
