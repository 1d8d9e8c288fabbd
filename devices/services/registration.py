"""Registration, claiming, device settings, and factory auto-assign tokens."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from rest_framework import exceptions

from devices.models import (
    PUBLIC_FACTS,
    AutoToken,
    Device,
    hash_token,
    new_challenge,
    new_secret,
)
from devices.services.lookups import conflict_nick, nick_taken, unique_nick
from devices.services.meta import check_meta
from devices.signals import changed_after_commit
from devices.tags import clean_tags
from portal import audit
from portal.auth import person_of
from portal.errors import Conflict, DomainError, Forbidden
from portal.ids import is_id
from trail.wire import AUTO_TOKEN_HEADER, DEVICE_PRN_PREFIX


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
            raise conflict_nick(nick)
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
        raise conflict_nick(device.nick) from None
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
        raise DomainError(
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
            raise DomainError(
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
        audit.record("device.claim", owner=person, target=device, after={"nick": device.nick})
        changed_after_commit(device, {"owner"})
    cache.delete(_claim_failures_key(device.id))
    return device


def update_device(device: Device, **changes) -> Device:
    """Apply owner edits (``nick``, ``description``, ``public``, ``require_signatures``,
    ``public_facts``, ``tags``); a taken nick is a 409, an unknown fact or a bad tag a 400.

    New tags send ``device_changed`` after commit (dynamic packs follow them).
    """
    nick = changes.get("nick")
    if nick and nick != device.nick and nick_taken(device.owner, nick, exclude_id=device.id):
        raise conflict_nick(nick)
    if "public_facts" in changes:
        changes["public_facts"] = _fact_names(changes["public_facts"])
    if "tags" in changes:
        changes["tags"] = clean_tags(changes["tags"])
    retagged = "tags" in changes and changes["tags"] != device.tags
    editable = ("nick", "description", "public", "require_signatures", "public_facts", "tags")
    fields = [name for name in editable if name in changes]
    before = {name: getattr(device, name) for name in fields}
    for name in fields:
        setattr(device, name, changes[name])
    try:
        with transaction.atomic():
            # Only the edited columns: the device may be writing its device-meta meanwhile.
            device.save(update_fields=[*fields, "time_modified"])
            before, after = audit.changed(before, {name: changes[name] for name in fields})
            if after:
                audit.record(
                    "device.update", owner=device.owner, target=device, before=before, after=after
                )
            if retagged:
                changed_after_commit(device, {"tags"})
    except IntegrityError:
        raise conflict_nick(device.nick) from None
    return device


def _fact_names(names) -> list[str]:
    """``names`` as the device stores them: known PUBLIC_FACTS only, in their order."""
    unknown = sorted(set(names) - PUBLIC_FACTS.keys())
    if unknown:
        raise DomainError(
            f"no such fact to publish: {', '.join(unknown)} (known: {', '.join(PUBLIC_FACTS)})",
            "bad-fact",
        )
    return [name for name in PUBLIC_FACTS if name in names]


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


def delete_device(device: Device) -> None:
    """Delete a device with its trail, revisions and logs (the owner's call)."""
    with transaction.atomic():
        audit.record(
            "device.delete", owner=device.owner, target=device, before={"nick": device.nick}
        )
        device.delete()


def disable_auto_token(token: AutoToken) -> AutoToken:
    token.disabled = True
    token.save(update_fields=["disabled", "time_modified"])
    return token
