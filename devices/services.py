"""Device behaviour that spans models or requests.

Lookups that respect visibility (every device endpoint starts with one of the
``get_*_device`` helpers), registration, claiming, metadata writes, factory
auto-assign tokens, and device logs. Views, forms and other apps call these;
they never repeat the rules.
"""

from __future__ import annotations

import hmac
import json
import secrets
from typing import Literal

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from rest_framework import exceptions

from devices.models import (
    AutoToken,
    Device,
    DeviceLog,
    hash_token,
    new_challenge,
    new_nick,
    new_secret,
)
from devices.signals import logs_posted
from portal import queue
from portal.auth import device_of, person_of
from portal.errors import APIError, Conflict, Forbidden
from portal.ids import is_id
from portal.parsers import unstorable
from trail.wire import AUTO_TOKEN_HEADER, DEVICE_PRN_PREFIX

MetaField = Literal["user_meta", "device_meta"]


# --- Finding devices: visibility first, then the right to act ----------------


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


def _conflict_nick(nick: str) -> Conflict:
    return Conflict(f"you already have a device called {nick!r}; choose another nick", "nick-taken")


# --- Metadata --------------------------------------------------------------


def _require_object(value, what: str) -> dict:
    if not isinstance(value, dict):
        raise APIError(f"{what} must be a JSON object", "not-an-object", 400)
    return value


def check_meta(value, what: str) -> dict:
    """``value`` if it is a JSON object within DEVICE_META_MAX_BYTES; else a 400/413."""
    _require_object(value, what)
    found = unstorable(value)  # the API's parser refuses these already; the forms parse JSON too
    if found is not None:
        code, message = found
        raise APIError(f"{what}: {message}", code, 400)
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    limit = settings.DEVICE_META_MAX_BYTES
    if size > limit:
        raise APIError(
            f"{what} would be {size} bytes serialized; the limit is {limit}", "too-large", 413
        )
    return value


def write_meta(device: Device, field: MetaField, value, *, merge: bool) -> dict:
    """Replace (PUT) or merge into (PATCH) a device's metadata; returns the result.

    A merge is shallow, as in the reference: each top-level key in ``value``
    replaces the stored one, and a key set to null is removed. The row is
    locked so that two concurrent merges cannot lose each other's keys.
    """
    what = field.replace("_", "-")
    _require_object(value, what)
    with transaction.atomic():
        locked = Device.objects.select_for_update().get(id=device.id)
        if merge:
            result = dict(getattr(locked, field))
            for key, item in value.items():
                if item is None:
                    result.pop(key, None)
                else:
                    result[key] = item
        else:
            result = value
        check_meta(result, what)
        setattr(locked, field, result)
        locked.save(update_fields=[field, "time_modified"])
    setattr(device, field, result)
    device.time_modified = locked.time_modified
    return result


# --- Registration and claiming ----------------------------------------------


def register_device(
    *,
    owner=None,
    nick: str | None = None,
    secret: str | None = None,
    user_meta: dict | None = None,
    description: str = "",
    auto_token: AutoToken | None = None,
    has_hardware: bool = True,
) -> Device:
    """Create a device account; the clear secret is on ``device.secret`` (shown once).

    ``has_hardware=False`` makes a device no hardware runs yet (a fork, a pack
    leader): a template that real devices can follow.

    Anonymous registration (no owner) gives the device a ``challenge`` for a
    person to claim it with. With ``auto_token`` the device belongs to the
    token's owner at birth and starts with the token's default user-meta (its
    keys win over any the device sent: user-meta is the owner's). A person who
    picks a taken nick gets a 409; a factory device cannot choose again, so its
    nick is made unique instead.
    """
    if auto_token is not None:
        owner = auto_token.owner
        user_meta = {**(user_meta or {}), **auto_token.default_user_meta}
    user_meta = check_meta(user_meta or {}, "user-meta")
    if nick and owner is not None:
        if auto_token is not None:
            nick = unique_nick(owner, nick)
        elif nick_taken(owner, nick):
            raise _conflict_nick(nick)
    device = Device(
        owner=owner, description=description, user_meta=user_meta, has_hardware=has_hardware
    )
    device.nick = nick or unique_nick(owner)
    if owner is None:
        device.challenge = new_challenge()
    device.secret = secret or new_secret()
    device.set_secret(device.secret)
    try:
        with transaction.atomic():
            device.save(force_insert=True)
            if auto_token is not None:
                AutoToken.objects.filter(id=auto_token.id).update(
                    last_used=timezone.now(), use_count=F("use_count") + 1
                )
    except IntegrityError:
        # Two registrations raced for the same nick.
        raise _conflict_nick(device.nick) from None
    return device


def _claim_failures_key(device_id: str) -> str:
    return f"claim-failures:{device_id}"


def _record_claim_failure(device_id: str) -> None:
    key = _claim_failures_key(device_id)
    cache.add(key, 0, timeout=3600)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=3600)


def claim_device(user, ref: str, challenge: str | None) -> Device:
    """Make ``user`` the owner of the unclaimed device ``ref`` if ``challenge`` matches.

    An unclaimed device is visible to no person, so this is the one lookup
    that does not start from ``visible_to``: the challenge is the capability.
    A device that is already owned follows the usual rule: 409 for those who
    can see it, 404 for everyone else. Wrong challenges are counted per device
    (CLAIM_MAX_FAILURES an hour) so that challenges cannot be guessed.
    """
    person = person_of(user)
    if person is None:
        raise Forbidden("only a person can claim a device; log in as a user", "person-only")
    device_id = (ref or "").strip().removeprefix(DEVICE_PRN_PREFIX)
    challenge = (challenge or "").strip().lower()
    if not is_id(device_id):
        raise Http404(f"no such device: {ref}")
    if not challenge:
        raise APIError(
            "give the device's challenge: PUT /devices/<id>?challenge=<challenge>",
            "challenge-required",
            400,
        )
    with transaction.atomic():
        device = Device.objects.select_for_update().filter(id=device_id).first()
        if device is None:
            raise Http404(f"no such device: {ref}")
        if device.owner_id is not None:
            if Device.objects.visible_to(user).filter(id=device.id).exists():
                raise Conflict("this device is already claimed", "already-claimed")
            raise Http404(f"no such device: {ref}")
        if cache.get(_claim_failures_key(device.id), 0) >= settings.CLAIM_MAX_FAILURES:
            raise APIError(
                "too many wrong challenges for this device; try again in an hour",
                "throttled",
                429,
            )
        expected = device.challenge.lower().encode()
        if not expected or not hmac.compare_digest(expected, challenge.encode()):
            _record_claim_failure(device.id)
            raise Forbidden(
                "wrong challenge for this device; read it again from the device", "bad-challenge"
            )
        device.owner = person
        device.challenge = ""
        device.nick = unique_nick(person, device.nick)
        device.save()
    cache.delete(_claim_failures_key(device.id))
    return device


def update_device(device: Device, **changes) -> Device:
    """Apply owner edits (``nick``, ``description``, ``public``); a taken nick is a 409."""
    nick = changes.get("nick")
    if nick and nick != device.nick and nick_taken(device.owner, nick, exclude_id=device.id):
        raise _conflict_nick(nick)
    fields = [name for name in ("nick", "description", "public") if name in changes]
    for name in fields:
        setattr(device, name, changes[name])
    try:
        with transaction.atomic():
            # Only the edited columns: the device may be writing its device-meta meanwhile.
            device.save(update_fields=[*fields, "time_modified"])
    except IntegrityError:
        raise _conflict_nick(device.nick) from None
    return device


# --- Factory auto-assign tokens --------------------------------------------


def create_auto_token(owner, description: str = "", default_user_meta: dict | None = None):
    """A new token for ``owner``; returns ``(token, raw)``. ``raw`` is never stored."""
    # Only a missing value means "none": [] or "" is a mistake to refuse, not an empty object.
    if default_user_meta is None:
        default_user_meta = {}
    default_user_meta = check_meta(default_user_meta, "default-user-meta")
    raw, digest, prefix = AutoToken.generate()
    token = AutoToken.objects.create(
        owner=owner,
        description=description,
        default_user_meta=default_user_meta,
        token_hash=digest,
        prefix=prefix,
    )
    return token, raw


def auto_token_for(raw: str) -> AutoToken:
    """The enabled token whose hash matches ``raw``; 401 if unknown, 403 if disabled."""
    digest = hash_token((raw or "").strip())
    token = AutoToken.objects.select_related("owner").filter(token_hash=digest).first()
    # The lookup is by an indexed hash; compare in constant time all the same.
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        raise exceptions.AuthenticationFailed(
            f"unknown auto-assign token ({AUTO_TOKEN_HEADER})", code="bad-auto-token"
        )
    if token.disabled or not token.owner.is_active:
        raise Forbidden(
            "this auto-assign token is disabled; ask its owner for a new one", "auto-token-disabled"
        )
    return token


def disable_auto_token(token: AutoToken) -> AutoToken:
    token.disabled = True
    token.save(update_fields=["disabled", "time_modified"])
    return token


# --- Logs ------------------------------------------------------------------


def _clip(value: str, field: str) -> str:
    return value[: DeviceLog._meta.get_field(field).max_length]


def post_logs(device: Device, entries: list[dict]) -> list[DeviceLog]:
    """Store a batch of validated entries for ``device`` in one INSERT.

    Entries without ``tsec`` get the arrival time. When the device may now be
    over DEVICE_LOG_RETENTION, trimming is queued for after the commit.
    """
    now = timezone.now()
    rows = []
    for entry in entries:
        tsec = entry.get("tsec")
        tnano = entry.get("tnano") or 0
        if tsec is None:
            tsec, tnano = int(now.timestamp()), now.microsecond * 1000
        rows.append(
            DeviceLog(
                device=device,
                time=DeviceLog.time_of(tsec, tnano),
                tsec=tsec,
                tnano=tnano,
                src=_clip(entry.get("src", ""), "src"),
                lvl=_clip(entry.get("lvl", "").upper(), "lvl"),
                msg=entry.get("msg", ""),
                plat=_clip(entry.get("plat", ""), "plat"),
                rev=_clip(entry.get("rev", ""), "rev"),
                time_created=now,
            )
        )
    with transaction.atomic():
        created = DeviceLog.objects.bulk_create(rows)
        transaction.on_commit(lambda: logs_posted.send(sender=Device, device=device, lines=created))
        if logs_over_retention(device.id):
            from devices.tasks import trim_logs

            queue.enqueue_on_commit(trim_logs, device.id)
    return created


def _retention_boundary(device_id: str, keep: int) -> int | None:
    """The id of the ``keep``-th newest entry of the device, or None if it has fewer."""
    ids = (
        DeviceLog.objects.filter(device_id=device_id)
        .order_by("-id")
        .values_list("id", flat=True)[keep - 1 : keep]
    )
    return next(iter(ids), None)


def logs_over_retention(device_id: str) -> bool:
    keep = settings.DEVICE_LOG_RETENTION
    return _retention_boundary(device_id, keep + 1) is not None


def trim_device_logs(device_id: str) -> int:
    """Delete all but the DEVICE_LOG_RETENTION newest entries of a device; returns how many.

    Safe to run twice or concurrently: it only ever deletes below a boundary
    that it re-reads.
    """
    boundary = _retention_boundary(device_id, settings.DEVICE_LOG_RETENTION)
    if boundary is None:
        return 0
    deleted, _ = DeviceLog.objects.filter(device_id=device_id, id__lt=boundary).delete()
    return deleted


def devices_over_log_retention() -> list[str]:
    """Ids of devices holding more log entries than DEVICE_LOG_RETENTION (the periodic sweep)."""
    return list(
        DeviceLog.objects.values("device_id")
        .annotate(n=Count("id"))
        .filter(n__gt=settings.DEVICE_LOG_RETENTION)
        .values_list("device_id", flat=True)
    )
