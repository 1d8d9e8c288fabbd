"""The audit log: who changed what, how they were logged in, from where.

Every app records its changes here, in the kernel, so that no app imports a
higher one to do it. A service that makes a change calls :func:`record` once
for it, inside the transaction that makes it: a change rolled back (or
refused before it was made) records nothing.

Who acts is found once per request: :class:`AuditMiddleware` keeps the request
in a context variable, and :func:`current_actor` reads, when a change is
recorded, how the caller authenticated (a web session, a password login
token, a scoped ``tht_`` token, a device) and its address (the real client
address of portal/limits.py, which honours ``TRUSTED_PROXIES``). Outside a
request (a Celery task, a management command) the actor is ``system``, named
after the task that runs.

The actions are listed once, in :data:`ACTIONS` (docs/operations.md shows the
table). A device's own progress reports are not recorded (one a few seconds
per device updating would drown the rest); the owner's moves (cancel,
WONTGO) are.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from portal.errors import DomainError
from portal.limits import client_address

#: Every action recorded, and what it means (the filter's choices, the docs' table).
ACTIONS: dict[str, str] = {
    "auth.refused": "a scoped token was refused: a scope it lacks, login-only, or expired",
    "account.password": "the account's password was changed or reset",
    "account.logout-everywhere": "every login token, scoped token and web session was ended",
    "two-factor.on": "two-factor login was turned on",
    "two-factor.off": "two-factor login was turned off",
    "app.authorise": "the person allowed an app (OAuth) to act for them",
    "app.revoke": "the person ended an app's authorisation",
    "app.register": "the person registered an app they develop",
    "app.delete": "the person deleted an app they develop",
    "token.create": "a scoped token was made",
    "token.revoke": "a scoped token was revoked",
    "signing-key.add": "a signing key, CA certificate or user was trusted",
    "signing-key.remove": "a signing key, CA certificate or user was no longer trusted",
    "device.claim": "a device was claimed",
    "device.update": "a device's nick, visibility, description or settings changed",
    "device.delete": "a device was deleted",
    "device.meta": "a device's user-meta changed",
    "revision.post": "a revision was posted (API, fork, pack delivery, upstream merge)",
    "revision.state": "the state of a revision not picked up yet (NEW) was replaced",
    "revision.status": "the owner moved a revision (cancel, WONTGO); not device reports",
    "pack.create": "a pack was made",
    "pack.update": "a pack's nick, leader or settings changed",
    "pack.delete": "a pack was deleted",
    "pack.follower-add": "a device joined a pack",
    "pack.follower-remove": "a device left a pack",
    "rollout.start": "a rollout started",
    "rollout.pause": "a rollout was paused",
    "rollout.resume": "a rollout was resumed",
    "rollout.abort": "a rollout was aborted",
    "rollout.revert": "a rollout was reverted",
    "webhook.create": "a webhook was registered",
    "webhook.update": "a webhook changed",
    "webhook.delete": "a webhook was removed",
    "webhook.redeliver": "a webhook delivery was sent again",
    "webhook.deliver": "a webhook delivery ended: delivered, or failed for good (once each)",
}
ACTION_CHOICES = [(name, name) for name in ACTIONS]

#: The most a ``before`` or ``after`` keeps, as JSON; more is replaced by a note.
MAX_SNAPSHOT_BYTES = 2048
#: Never kept in a snapshot, whatever a caller passes.
SECRET_KEYS = frozenset({"secret", "token", "password", "digest", "challenge", "private_key"})

SYSTEM = "system"
_request: contextvars.ContextVar[Any] = contextvars.ContextVar("audit_request", default=None)
_system: contextvars.ContextVar[str] = contextvars.ContextVar("audit_system", default="")


@dataclass(frozen=True)
class Actor:
    """Who made a change, as an entry keeps it."""

    #: ``person``, ``device``, ``anonymous`` or ``system``.
    kind: str
    #: A person's nick, a device's nick or prn, a task's name.
    name: str
    #: How it authenticated: ``session``, ``password`` (a login token), ``token``
    #: (scoped), ``app`` (an OAuth app's token, portal/oauth.py), ``device``, ``task``,
    #: or ``""``.
    via: str = ""
    person: Any = None
    token: Any = None
    address: str = ""


def actor_of(request) -> Actor:
    """The actor of a Django or DRF request: its user and ``auth`` as the
    authentication that ran left them (DRF sets both on the Django request too)."""
    from portal.auth import device_of, person_of  # portal.auth imports portal.tokens, which records
    from portal.oauth import AppToken

    address = client_address(request)
    user = getattr(request, "user", None)
    auth = getattr(request, "auth", None)
    device = device_of(user)
    if device is not None:
        return Actor("device", device.nick or device.prn, "device", address=address)
    person = person_of(user)
    if person is None:
        return Actor("anonymous", "anonymous", address=address)
    if auth is None:
        via = "session"
    elif hasattr(auth, "scopes") and hasattr(auth, "digest"):
        return Actor("person", person.username, "token", person, auth, address)
    elif isinstance(auth, AppToken):
        via = "app"
    else:
        via = "password"
    return Actor("person", person.username, via, person, address=address)


def token_actor(request, token) -> Actor:
    """The actor of a scoped ``token`` that authentication is still checking."""
    return Actor(
        "person", token.owner.username, "token", token.owner, token, client_address(request)
    )


def current_actor() -> Actor:
    """The actor of the request being served, or ``system`` (named after the task)."""
    request = _request.get()
    if request is None:
        return Actor(SYSTEM, _system.get() or SYSTEM, "task" if _system.get() else "")
    return actor_of(request)


@contextmanager
def serving(request) -> Iterator[None]:
    """Changes made inside are the ``request``'s caller's."""
    reset = _request.set(request)
    try:
        yield
    finally:
        _request.reset(reset)


@contextmanager
def as_system(name: str) -> Iterator[None]:
    """Changes made inside are the system's, named ``name`` (a task, a command), even
    when an eager task runs inside a request."""
    reset_request, reset_name = _request.set(None), _system.set(name)
    try:
        yield
    finally:
        _system.reset(reset_name)
        _request.reset(reset_request)


class AuditMiddleware:
    """Keeps the request at hand for :func:`current_actor` while it is served."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with serving(request):
            return self.get_response(request)


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            str(key): _clean(item) for key, item in value.items() if str(key) not in SECRET_KEYS
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(item) for item in value]
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def snapshot(value: dict | None) -> dict | None:
    """``value`` as an entry keeps it: JSON, secrets left out, at most
    :data:`MAX_SNAPSHOT_BYTES` (else only the names of its fields)."""
    if value is None:
        return None
    cleaned = _clean(value)
    if len(json.dumps(cleaned, ensure_ascii=False).encode()) <= MAX_SNAPSHOT_BYTES:
        return cleaned
    return {"truncated": True, "fields": sorted(cleaned)[:50]}


def changed(before: dict, after: dict) -> tuple[dict, dict]:
    """The fields of ``before`` and ``after`` whose values differ."""
    names = [name for name in after if before.get(name) != after.get(name)]
    return {name: before.get(name) for name in names}, {name: after[name] for name in names}


def target_of(obj: models.Model | None) -> tuple[str, str]:
    """``("<model>:<id>", name)`` for the row an entry is about."""
    if obj is None:
        return "", ""
    name = getattr(obj, "nick", None) or getattr(obj, "name", None) or ""
    return f"{obj._meta.model_name}:{obj.pk}", str(name)[:200]


def record(
    action: str,
    *,
    owner,
    target: models.Model | None = None,
    before: dict | None = None,
    after: dict | None = None,
    actor: Actor | None = None,
):
    """Record one change of ``owner``'s (a person or their id: whose log shows it) by
    the current actor.

    Call it inside the transaction that makes the change. ``before`` and
    ``after`` are the changed fields, small: secrets are left out whatever is
    passed. An ``owner`` of None (an unclaimed device's change) records nothing.
    """
    from portal.models import AuditEntry

    if action not in ACTIONS:
        raise ValueError(f"not an audit action: {action}")
    if owner is None:
        return None
    actor = actor or current_actor()
    target_id, target_name = target_of(target)
    whose = {"owner": owner} if isinstance(owner, models.Model) else {"owner_id": owner}
    return AuditEntry.objects.create(
        **whose,
        action=action,
        actor_kind=actor.kind,
        actor=actor.name[:150],
        via=actor.via,
        person=actor.person,
        token=actor.token,
        token_name=getattr(actor.token, "name", ""),
        address=actor.address[:64],
        target=target_id,
        target_name=target_name,
        before=snapshot(before),
        after=snapshot(after),
    )


def prune(now: dt.datetime | None = None) -> int:
    """Delete the entries older than ``AUDIT_RETENTION_DAYS``; how many went."""
    from portal.models import AuditEntry

    boundary = (now or timezone.now()) - dt.timedelta(days=settings.AUDIT_RETENTION_DAYS)
    deleted, _ = AuditEntry.objects.filter(time__lt=boundary).delete()
    return deleted


def entries_of(owner, *, action: str = "", since: str = "", target: str = ""):
    """``owner``'s entries, newest first, filtered as the page and ``GET /audit`` are:
    an action (``token.create``) or its group (``token``), a time (ISO 8601, a date
    or a date and time; entries from it on), a target (``device:<id>`` or the id)."""
    from portal.models import AuditEntry

    entries = AuditEntry.objects.filter(owner=owner).select_related("token")
    if action:
        if action in ACTIONS:
            entries = entries.filter(action=action)
        elif action in {name.split(".", 1)[0] for name in ACTIONS}:
            entries = entries.filter(action__startswith=f"{action}.")
        else:
            raise DomainError(
                f"action must be one of {', '.join(ACTIONS)}, or the part before the dot",
                "bad-action",
            )
    if since:
        entries = entries.filter(time__gte=_since(since))
    if target:
        if len(target) > 80:
            raise DomainError("target is a type and an id (device:<id>) or an id", "bad-target")
        entries = entries.filter(models.Q(target=target) | models.Q(target__endswith=f":{target}"))
    return entries.order_by("-time", "-id")


def _since(raw: str) -> dt.datetime:
    try:
        moment = parse_datetime(raw)
        if moment is None:
            day = parse_date(raw)
            moment = None if day is None else dt.datetime.combine(day, dt.time())
    except ValueError:
        moment = None
    if moment is None:
        raise DomainError(
            "since must be a date (2026-12-01) or a date and time (2026-12-01T10:00:00Z)",
            "bad-since",
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.UTC)
    return moment
