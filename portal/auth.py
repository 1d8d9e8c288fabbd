"""API authentication: signed JWT bearer tokens in the Pantahub form.

Users and devices log in through ``POST /auth/login`` and get a token whose
claims name them (``prn``, ``nick``, ``type`` USER or DEVICE, ``roles``).
A 401 answer carries the ``WWW-Authenticate`` header that pvr needs to find
the login endpoint (``ph-aeps``). pvr's anonymous login gets an anonymous
token: it names nobody and its bearer is treated as an anonymous caller.

The kernel knows people and anonymous callers. Other kinds of caller (the
devices app's devices) plug in with :func:`register_caller`: how their
credentials are checked at login, and which principal a token of theirs names.
The kernel never imports an app.
"""

from __future__ import annotations

import functools
import hmac
import time
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions

from portal import oauth, tokens
from trail import wire
from trail.wire import ACCOUNT_PRN_PREFIX, ANON_PRN

ALGORITHM = "HS256"
USER_SCOPES = "prn:pantahub.com:apis:/base/all"

ANON_TYPE = "ANON"


class DevicePrincipal:
    """``request.user`` while a device calls the API: authenticated, but no person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    is_device = True
    pk = None
    id = None

    def __init__(self, device) -> None:
        self.device = device

    def __str__(self) -> str:
        return self.device.prn

    def has_perm(self, *args, **kwargs) -> bool:
        return False


def device_of(user) -> Any | None:
    """The device behind a request's user, or None for people and anonymous callers."""
    return user.device if getattr(user, "is_device", False) else None


def person_of(user) -> Any | None:
    """The account behind a request's user, or None for devices and anonymous callers."""
    if getattr(user, "is_device", False) or not getattr(user, "is_authenticated", False):
        return None
    return user


@dataclass(frozen=True)
class Token:
    """A decoded, verified token."""

    raw: str
    claims: dict

    @property
    def type(self) -> str:
        return self.claims.get("type", "")


def _now() -> int:
    return int(time.time())


def claims(prn: str, nick: str, type: str, roles: str, orig_iat: int | None = None, **more) -> dict:
    """The claims of a token for ``prn``, valid for JWT_TTL from now."""
    now = _now()
    return {
        "id": prn,
        "prn": prn,
        "nick": nick,
        "roles": roles,
        "type": type,
        "scopes": USER_SCOPES,
        **more,
        "iat": now,
        "orig_iat": orig_iat or now,
        "exp": now + settings.JWT_TTL,
    }


def user_claims(user, orig_iat: int | None = None) -> dict:
    # ``ver`` ends the token when the password changes or the user logs out everywhere.
    roles = "admin" if user.is_staff else "user"
    return claims(user.prn, user.username, "USER", roles, orig_iat, ver=user.token_stamp())


def anon_claims() -> dict:
    """An anonymous token's claims: no rights beyond an anonymous caller's."""
    return {**claims(ANON_PRN, "anonymous", ANON_TYPE, "anon"), "scopes": ""}


def issue_anon_token() -> str:
    return jwt.encode(anon_claims(), settings.SECRET_KEY, algorithm=ALGORITHM)


def issue_token(subject, orig_iat: int | None = None) -> str:
    """A signed token for an account, or for any caller with ``token_claims(orig_iat)``
    (a device, or the DevicePrincipal of one)."""
    subject = device_of(subject) or subject
    made = subject.token_claims(orig_iat) if hasattr(subject, "token_claims") else None
    return jwt.encode(
        made or user_claims(subject, orig_iat), settings.SECRET_KEY, algorithm=ALGORITHM
    )


class Caller(Protocol):
    """What an app registers for a kind of caller other than a person."""

    #: The ``type`` claim of its tokens.
    token_type: str
    #: The prefix of its prn: its login name starts with it.
    prn_prefix: str

    def check_credentials(self, login_id: str, secret: str) -> Any | None:
        """The caller whose login name is ``prn_prefix + login_id``, if ``secret`` is its own."""

    def principal(self, caller_id: str) -> Any | None:
        """``request.user`` for a token naming ``prn_prefix + caller_id``, or None if gone."""


_CALLERS: dict[str, Caller] = {}


def register_caller(caller: Caller) -> None:
    """Let ``caller``'s kind log in and use tokens (from an app's ``ready``)."""
    _CALLERS[caller.token_type] = caller


def check_credentials(request, username: str, password: str):
    """The account or other caller that these credentials name, or None."""
    for caller in _CALLERS.values():
        if username.startswith(caller.prn_prefix):
            return caller.check_credentials(username.removeprefix(caller.prn_prefix), password)
    return authenticate(request, username=username, password=password)


@functools.lru_cache(maxsize=16384)
def _verified_claims(raw: str, key: str) -> dict:
    """The claims of a token whose signature ``key`` made, expired or not (memoised:
    every device sends the same token with every poll for an hour)."""
    return jwt.decode(
        raw,
        key,
        algorithms=[ALGORITHM],
        options={"require": ["exp", "prn", "type"], "verify_exp": False},
    )


def decode_token(raw: str) -> Token:
    """Verify signature and expiry; raise AuthenticationFailed with a reason."""
    try:
        claims = _verified_claims(raw, settings.SECRET_KEY)
    except jwt.InvalidTokenError:
        raise exceptions.AuthenticationFailed("invalid token", code="token-invalid") from None
    # PyJWT's own expiry test (no leeway), made on every use of a memoised token.
    try:
        expired = int(claims["exp"]) <= time.time()
    except (ValueError, TypeError, OverflowError):
        raise exceptions.AuthenticationFailed("invalid token", code="token-invalid") from None
    if expired:
        raise exceptions.AuthenticationFailed("token expired; log in again", code="token-expired")
    return Token(raw=raw, claims=dict(claims))


def principal_for(token: Token):
    """The user or device a verified token names, or AuthenticationFailed."""
    prn = token.claims["prn"]
    caller = _CALLERS.get(token.type)
    if caller is not None and prn.startswith(caller.prn_prefix):
        principal = caller.principal(prn.removeprefix(caller.prn_prefix))
        if principal is None:
            raise exceptions.AuthenticationFailed("caller no longer exists", code="token-invalid")
        return principal
    if token.type == "USER" and prn.startswith(ACCOUNT_PRN_PREFIX):
        user = (
            get_user_model()
            .objects.filter(id=prn.removeprefix(ACCOUNT_PRN_PREFIX), is_active=True)
            .first()
        )
        if user is None:
            raise exceptions.AuthenticationFailed("account disabled or gone", code="token-invalid")
        # The row is read anyway: checking the stamp costs no query.
        if not hmac.compare_digest(str(token.claims.get("ver", "")), user.token_stamp()):
            raise exceptions.AuthenticationFailed(
                "token ended by a password change or a log out everywhere; log in again",
                code="token-revoked",
            )
        return user
    if token.type == ANON_TYPE and prn == ANON_PRN:
        return AnonymousUser()
    raise exceptions.AuthenticationFailed("invalid token", code="token-invalid")


def carries_anon_token(request) -> bool:
    """Whether ``request`` is authorised with a valid, unexpired anonymous token."""
    header = authentication.get_authorization_header(request).split()
    if len(header) != 2:
        return False
    try:
        token = decode_token(header[1].decode(errors="replace"))
    except exceptions.AuthenticationFailed:
        return False
    return token.type == ANON_TYPE and token.claims["prn"] == ANON_PRN


def aeps_url(request) -> str:
    return request.build_absolute_uri("/auth")


def www_authenticate(request) -> str:
    header = wire.www_authenticate(aeps_url(request))
    if carries_anon_token(request):
        # The anonymous token was not enough. pvr reads an ``error`` here as "ask
        # for credentials"; without it, it would log in anonymously again, and
        # again (libpvr/authlib.go getNewAccessToken, libpvr/session.go DoAuthCall).
        header += ', error="insufficient_scope"'
    return header


class JWTAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <jwt>`` (``JWT <jwt>`` is accepted too)."""

    keywords = ("bearer", "jwt")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace").lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Authorization header must be 'Bearer <token>'", code="token-invalid"
            )
        raw = header[1].decode(errors="replace")
        if oauth.is_oauth(raw):
            return oauth.authenticate(raw, request.method, request.path)
        if tokens.is_scoped(raw):
            try:
                return tokens.authenticate(raw, request.method, request.path)
            except exceptions.APIException as exc:
                tokens.record_refusal(request, raw, exc)
                raise
        token = decode_token(raw)
        if token.type == ANON_TYPE:
            return None  # names nobody: the request is an anonymous one
        return principal_for(token), token

    def authenticate_header(self, request) -> str:
        return www_authenticate(request)
