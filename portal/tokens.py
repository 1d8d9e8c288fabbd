"""Scoped tokens: made once and shown once, kept hashed, checked on every use.

A token is ``tht_`` and 43 url-safe characters (256 random bits); the hub keeps
only its SHA-256, so a leaked database does not leak usable tokens. It acts as
its owner, never beyond the owner's own rights, and only within its scopes
(portal/scopes.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions

from portal import audit
from portal import scopes as sc
from portal.errors import Conflict, DomainError
from portal.models import ApiToken

PREFIX = "tht_"
DEFAULT_LIFETIME = dt.timedelta(days=30)
LONGEST_LIFETIME = dt.timedelta(days=366)
SHORTEST_LIFETIME = dt.timedelta(minutes=1)
#: ``last_used`` is written at most this often per token (not once per request).
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def is_scoped(raw: str) -> bool:
    return raw.startswith(PREFIX)


def issue(owner, name: str, scopes: list[str], lifetime: dt.timedelta | None = None):
    """A new token of ``owner``'s: ``(row, token)``; the token is not kept anywhere."""
    name = name.strip()
    if not name or len(name) > 100:
        raise DomainError("a token needs a name of 1 to 100 characters", "bad-name")
    unknown = sorted(set(scopes) - set(sc.SCOPES))
    if not scopes or unknown:
        raise DomainError(
            f"scopes must be some of {', '.join(sc.SCOPES)}"
            + (f"; unknown: {', '.join(unknown)}" if unknown else ""),
            "bad-scopes",
        )
    lifetime = DEFAULT_LIFETIME if lifetime is None else lifetime
    if not SHORTEST_LIFETIME <= lifetime <= LONGEST_LIFETIME:
        raise DomainError("a token lives from one minute to 366 days", "bad-expiry")
    raw = PREFIX + secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            row = ApiToken.objects.create(
                owner=owner,
                name=name,
                prefix=raw[: len(PREFIX) + 4],
                digest=_digest(raw),
                scopes=sorted(set(scopes)),
                expires_at=timezone.now() + lifetime,
            )
            audit.record("token.create", owner=owner, target=row, after=shown(row))
    except IntegrityError:
        raise Conflict(f"you already have a token called {name!r}", "name-taken") from None
    return row, raw


def authenticate(raw: str, method: str, path: str):
    """``(owner, token row)`` for a scoped token making this request, or a 401/403."""
    row = ApiToken.objects.select_related("owner").filter(digest=_digest(raw)).first()
    if row is None or not row.owner.is_active:
        raise exceptions.AuthenticationFailed("unknown or revoked token", code="token-invalid")
    now = timezone.now()
    if row.expires_at <= now:
        raise exceptions.AuthenticationFailed(
            f"the token {row.name!r} has expired; make a new one", code="token-expired"
        )
    check_scopes(row.scopes, method, path, f"the token {row.name!r}")
    if row.last_used is None or now - row.last_used >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=row.pk).update(last_used=now)
    return row.owner, row


def check_scopes(granted: list[str], method: str, path: str, holder: str) -> None:
    """Refuse (403) a request that ``granted`` do not cover: the one check of a scoped
    token's and an OAuth app's scopes (``holder`` names the token in the refusal)."""
    needed = sc.required_scope(method, path)
    if needed is None:
        raise exceptions.PermissionDenied(
            f"{holder} cannot do this: log in with your password", code="scope-login-only"
        )
    if needed and not sc.grants(granted, needed):
        raise exceptions.PermissionDenied(
            f"{holder} lacks the scope {needed}", code="scope-missing"
        )


def tokens_of(owner):
    return ApiToken.objects.filter(owner=owner)


def revoke(owner, token_id: str) -> ApiToken:
    """Delete one of ``owner``'s tokens; a 404 for anyone else's."""
    row = tokens_of(owner).filter(pk=token_id).first()
    if row is None:
        raise exceptions.NotFound("you have no token with that id")
    with transaction.atomic():
        audit.record("token.revoke", owner=owner, target=row, before=shown(row))
        row.delete()
    row.pk = token_id  # delete() clears it; the answer names the token revoked
    return row


def shown(row: ApiToken) -> dict:
    """What the audit log keeps of a token (never the token or its hash)."""
    return {
        "name": row.name,
        "prefix": row.prefix,
        "scopes": row.scopes,
        "expires-at": row.expires_at,
    }


def record_refusal(request, raw: str, exc: exceptions.APIException) -> None:
    """Record in its owner's audit log that the scoped token ``raw`` was refused
    (expired, a scope it lacks, login-only); an unknown or revoked one names no owner."""
    row = ApiToken.objects.select_related("owner").filter(digest=_digest(raw)).first()
    if row is None or not row.owner.is_active:
        return
    audit.record(
        "auth.refused",
        owner=row.owner,
        target=row,
        after={"method": request.method, "path": request.path[:200], "code": exc.get_codes()},
        actor=audit.token_actor(request, row),
    )
