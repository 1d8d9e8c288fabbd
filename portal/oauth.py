"""Third-party apps acting for people: OAuth 2.0 through django-oauth-toolkit.

An app (a public client, registered on Account › Apps › Your apps) sends the
person to ``/oauth/authorize/`` with a PKCE challenge; the consent page
(templates/oauth2_provider/authorize.html) names the app and says in plain words
what each scope it asks lets it do (portal/scopes.py ``DESCRIPTIONS``); the app
trades the code for an access token (``tho_…``, short-lived) and a refresh token
(``thr_…``) at ``/oauth/token/``. The API takes the access token like a scoped
token: as its person, never beyond their rights, only within its scopes, checked
by the same ``tokens.check_scopes``. The hub keeps only the tokens' SHA-256
(``COMPLIANT_BCP_RFC9700_TOKEN_STORAGE``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken
from oauth2_provider.settings import oauth2_settings
from rest_framework import exceptions

from portal import audit, tokens
from portal.errors import DomainError

ACCESS_PREFIX = "tho_"
REFRESH_PREFIX = "thr_"


def new_access_token(request: Any = None) -> str:
    """An access token (``ACCESS_TOKEN_GENERATOR``): its prefix tells the API what it is."""
    return ACCESS_PREFIX + secrets.token_urlsafe(32)


def new_refresh_token(request: Any = None) -> str:
    return REFRESH_PREFIX + secrets.token_urlsafe(32)


def is_oauth(raw: str) -> bool:
    return raw.startswith(ACCESS_PREFIX)


@dataclass(frozen=True)
class AppToken:
    """``request.auth`` while an app calls for a person."""

    row: AccessToken

    @property
    def claims(self) -> dict:
        """What ``GET /auth/auth_status`` says of it, in a login token's terms."""
        user = self.row.user
        return {
            "id": user.prn,
            "prn": user.prn,
            "nick": user.username,
            "roles": "user",
            "type": "USER",
            "scopes": self.row.scope,
            "app": self.row.application.name if self.row.application else "",
            "exp": int(self.row.expires.timestamp()),
            "orig_iat": int(self.row.created.timestamp()),
        }


def authenticate(raw: str, method: str, path: str):
    """``(person, AppToken)`` for an app's access token making this request, or a 401/403."""
    digest = hashlib.sha256(raw.encode()).hexdigest()
    row = (
        AccessToken.objects.select_related("user", "application")
        .filter(token_checksum=digest)
        .first()
    )
    # A token without a person (an admin-made client-credentials app) acts for nobody.
    if row is None or row.user is None or not row.user.is_active:
        raise exceptions.AuthenticationFailed("unknown or revoked token", code="token-invalid")
    if row.is_expired():
        raise exceptions.AuthenticationFailed(
            "the app's access token has expired; refresh it at /oauth/token/",
            code="token-expired",
        )
    name = row.application.name if row.application else "an app"
    tokens.check_scopes(row.scope.split(), method, path, f"the app {name!r}")
    return row.user, AppToken(row)


# --- the apps a person registers ---------------------------------------------------


def apps_of(owner):
    """The apps ``owner`` registered (as their developer)."""
    return Application.objects.filter(user=owner).order_by("-created")


def register(owner, name: str, redirect_uris: list[str]) -> Application:
    """A public client of ``owner``'s that may use the authorization-code grant only
    (with PKCE, which the provider requires), sending the person back to one of
    ``redirect_uris``."""
    name = name.strip()
    if not name or len(name) > 100:
        raise DomainError("an app needs a name of 1 to 100 characters", "bad-name")
    app = Application(
        user=owner,
        name=name,
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(redirect_uris),
        # A public client has no secret; DOT makes one, unused, kept hashed.
        hash_client_secret=True,
    )
    if len(app.redirect_uris) > 2000:
        raise DomainError("the redirect URIs are too long", "bad-redirect-uri")
    try:
        app.clean()  # the redirect URIs, said in django-oauth-toolkit's words
    except ValidationError as exc:
        raise DomainError("; ".join(exc.messages), "bad-redirect-uri") from None
    with transaction.atomic():
        app.save()
        audit.record("app.register", owner=owner, target=app, after=_shown(app))
    return app


def _shown(app: Application) -> dict:
    """What the audit log keeps of an app (never its client secret)."""
    return {"name": app.name, "client-id": app.client_id, "redirect-uris": app.redirect_uris}


def unregister(owner, client_id: str) -> Application:
    """Delete one of ``owner``'s apps, and with it every token and grant it holds."""
    app = apps_of(owner).filter(client_id=client_id).first()
    if app is None:
        raise exceptions.NotFound("you have no app with that client id")
    with transaction.atomic():
        audit.record("app.delete", owner=owner, target=app, before=_shown(app))
        app.delete()
    return app


# --- the apps a person authorised ---------------------------------------------------


@dataclass(frozen=True)
class Authorisation:
    """An app acting for a person: the scopes of its live tokens, since when."""

    application: Application
    scopes: list[str]
    since: Any
    last: Any


def authorised_apps(user) -> list[Authorisation]:
    """The apps holding a token of ``user``'s (an access token, expired or not, or a
    refresh token not revoked), newest first."""
    live = AccessToken.objects.filter(user=user, application__isnull=False)
    refreshing = RefreshToken.objects.filter(user=user, revoked__isnull=True)
    app_ids = set(live.values_list("application_id", flat=True)) | set(
        refreshing.values_list("application_id", flat=True)
    )
    found = []
    for app in Application.objects.filter(pk__in=app_ids):
        rows = live.filter(application=app)
        when = rows.aggregate(since=Min("created"), last=Max("created"))
        scopes = sorted({scope for row in rows for scope in row.scope.split()})
        since = when["since"] or refreshing.filter(application=app).aggregate(s=Min("created"))["s"]
        found.append(Authorisation(app, scopes, since, when["last"] or since))
    return sorted(found, key=lambda a: a.last, reverse=True)


def revoke(user, client_id: str) -> Application:
    """End an app's authorisation by ``user``: every token and code it holds for them."""
    app = Application.objects.filter(client_id=client_id).first()
    if app is None or not any(a.application == app for a in authorised_apps(user)):
        raise exceptions.NotFound("no app you authorised has that client id")
    with transaction.atomic():
        user.end_oauth_grants(app)
        audit.record("app.revoke", owner=user, target=app, before={"app": app.name})
    return app


def clear_expired() -> int:
    """Delete what can no longer be used: codes past their minute, refresh tokens past
    their lifetime (revoked ones too, kept until then so a reused one still ends its
    line), and expired access tokens without a refresh token. Safe to run twice."""
    now = timezone.now()
    lifetime = dt.timedelta(seconds=oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS)
    deleted = Grant.objects.filter(expires__lt=now).delete()[0]
    deleted += RefreshToken.objects.filter(created__lt=now - lifetime).delete()[0]
    deleted += AccessToken.objects.filter(expires__lt=now, refresh_token__isnull=True).delete()[0]
    return deleted
