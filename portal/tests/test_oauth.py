"""Third-party apps acting for people (portal/oauth.py): OAuth 2.0's authorization code
with PKCE through the consent page, tokens the API takes like scoped tokens, the Apps
pages, and what ends an app's access."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, Grant, RefreshToken
from rest_framework.test import APIClient

from conftest import PASSWORD
from portal import oauth

pytestmark = pytest.mark.django_db

REDIRECT = "https://reports.example.com/callback"


def browser(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def pkce() -> tuple[str, str]:
    """A code verifier and its S256 challenge (RFC 7636 section 4.2)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@pytest.fixture
def app(outsider) -> Application:
    """Fleet Reports, an app mallory registered on her Apps page."""
    response = browser(outsider).post(
        "/accounts/apps/registered/", {"name": "Fleet Reports", "redirect_uris": REDIRECT}
    )
    assert response.status_code == 302
    return Application.objects.get(user=outsider)


def authorize_params(app, scope: str, challenge: str, **more) -> dict:
    return {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": REDIRECT,
        "scope": scope,
        "state": "st4te",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **more,
    }


def consent(person, app, scope: str, challenge: str) -> str:
    """The person reads the consent page and allows: the code the app gets back."""
    client = browser(person)
    params = authorize_params(app, scope, challenge)
    page = client.get("/oauth/authorize/", params)
    assert page.status_code == 200
    allowed = client.post("/oauth/authorize/", {**params, "allow": "Authorize"})
    assert allowed.status_code == 302
    location = urlsplit(allowed["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["st4te"]
    return query["code"][0]


def exchange(app, code: str, verifier: str):
    return Client().post(
        "/oauth/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": app.client_id,
            "code_verifier": verifier,
        },
    )


def authorised(person, app, scope: str) -> dict:
    """The whole flow: consent, then the code traded for tokens."""
    verifier, challenge = pkce()
    response = exchange(app, consent(person, app, scope, challenge), verifier)
    assert response.status_code == 200, response.content
    return response.json()


def test_an_oauth_app_gets_a_persons_consent_and_reads_their_devices(
    owner, outsider, app, make_device, device
):
    make_device(outsider, nick="not-alices")
    verifier, challenge = pkce()
    client = browser(owner)
    params = authorize_params(app, "devices:read trails:read", challenge)
    page = client.get("/oauth/authorize/", params).content.decode()
    # The consent page names the app and its developer and says what each scope lets it do.
    assert "Fleet Reports" in page and "mallory" in page
    assert "see your devices, their metadata, logs and device tokens" in page
    assert "see your devices&#x27; revisions" in page
    assert "packs" not in page.split('id="consent"')[1].split("</ul>")[0]

    code = consent(owner, app, "devices:read trails:read", challenge)
    tokens = exchange(app, code, verifier).json()
    assert tokens["access_token"].startswith("tho_")
    assert tokens["refresh_token"].startswith("thr_")
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    assert set(tokens["scope"].split()) == {"devices:read", "trails:read"}

    devices = bearer(tokens["access_token"]).get("/devices")
    assert devices.status_code == 200
    assert [d["id"] for d in devices.json()] == [device.id]
    status = bearer(tokens["access_token"]).get("/auth/auth_status").json()
    assert status["nick"] == "alice" and status["app"] == "Fleet Reports"
    # Only the token's SHA-256 is kept.
    row = AccessToken.objects.get(user=owner)
    assert row.token == "" and tokens["access_token"] not in str(row.__dict__)
    assert row.token_checksum == hashlib.sha256(tokens["access_token"].encode()).hexdigest()


def test_a_code_is_good_once(owner, app):
    verifier, challenge = pkce()
    code = consent(owner, app, "devices:read", challenge)
    assert exchange(app, code, verifier).status_code == 200
    again = exchange(app, code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert AccessToken.objects.count() == 1


def test_a_scope_too_small_is_refused_403(owner, app, device):
    token = authorised(owner, app, "packs:read")["access_token"]
    refused = bearer(token).get("/devices")
    assert refused.status_code == 403
    assert refused.json()["code"] == "scope-missing"
    assert "Fleet Reports" in refused.json()["error"]
    assert bearer(token).get("/packs").status_code == 200


def test_a_read_scope_cannot_write(owner, app, device):
    token = authorised(owner, app, "devices:read")["access_token"]
    refused = bearer(token).put(f"/devices/{device.id}/user-meta", {"a": "1"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "scope-missing"
    device.refresh_from_db()
    assert device.user_meta == {}


def test_an_app_never_manages_the_persons_tokens(owner, app):
    token = authorised(owner, app, "devices:write")["access_token"]
    refused = bearer(token).post("/auth/tokens", {"name": "x", "scopes": ["devices:read"]})
    assert refused.status_code == 403 and refused.json()["code"] == "scope-login-only"
    assert not owner.api_tokens.exists()


def test_an_app_acts_within_its_persons_rights(owner, outsider, app, make_device):
    theirs = make_device(outsider, nick="theirs")
    token = authorised(owner, app, "devices:write")["access_token"]
    assert bearer(token).get(f"/devices/{theirs.id}").status_code == 404


def test_a_revoked_authorisations_token_is_refused_401(owner, app, device):
    tokens = authorised(owner, app, "devices:read")
    client = browser(owner)
    listed = client.get("/accounts/apps/").content.decode()
    assert "Fleet Reports" in listed and "devices:read" in listed
    url = f"/accounts/apps/{app.client_id}/revoke/"
    asked = client.get(url)
    assert asked.status_code == 200 and "Revoke “Fleet Reports”?" in asked.content.decode()
    assert bearer(tokens["access_token"]).get("/devices").status_code == 200  # not yet

    assert client.post(url).status_code == 302
    refused = bearer(tokens["access_token"]).get("/devices")
    assert refused.status_code == 401 and refused.json()["code"] == "token-invalid"
    refreshed = Client().post(
        "/oauth/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": app.client_id,
        },
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    assert "No app acts for you." in client.get("/accounts/apps/").content.decode()


def test_nobody_else_revokes_a_persons_app(owner, outsider, app):
    token = authorised(owner, app, "devices:read")["access_token"]
    client = browser(outsider)  # the app's own developer
    url = f"/accounts/apps/{app.client_id}/revoke/"
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert bearer(token).get("/devices").status_code == 200


def test_refreshing_gives_a_new_access_token_and_the_old_refresh_token_stops(owner, app):
    tokens = authorised(owner, app, "devices:read")
    body = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": app.client_id,
    }
    fresh = Client().post("/oauth/token/", body)
    assert fresh.status_code == 200
    new = fresh.json()
    assert new["access_token"] != tokens["access_token"] and new["scope"] == "devices:read"
    assert bearer(new["access_token"]).get("/devices").status_code == 200
    assert bearer(tokens["access_token"]).get("/devices").status_code == 401
    # The old refresh token used again (a stolen copy?) ends the whole line.
    assert Client().post("/oauth/token/", body).status_code == 400
    assert bearer(new["access_token"]).get("/devices").status_code == 401


def test_an_expired_access_token_is_a_401_that_says_so(owner, app):
    token = authorised(owner, app, "devices:read")["access_token"]
    AccessToken.objects.update(expires=timezone.now() - dt.timedelta(seconds=1))
    refused = bearer(token).get("/devices")
    assert refused.status_code == 401 and refused.json()["code"] == "token-expired"


def test_logging_out_everywhere_ends_apps_access(owner, app):
    tokens = authorised(owner, app, "devices:read")
    owner.log_out_everywhere()
    assert bearer(tokens["access_token"]).get("/devices").status_code == 401
    assert not RefreshToken.objects.filter(user=owner).exists()


def test_a_password_change_ends_apps_access(owner, app):
    tokens = authorised(owner, app, "devices:read")
    client = browser(owner)
    changed = client.post(
        "/accounts/password_change/",
        {
            "old_password": PASSWORD,
            "new_password1": "another long pass 42",
            "new_password2": "another long pass 42",
        },
    )
    assert changed.status_code == 302
    assert bearer(tokens["access_token"]).get("/devices").status_code == 401
    assert not RefreshToken.objects.filter(user=owner).exists()
    # Other changes to the account leave the apps alone.
    owner.refresh_from_db()
    again = authorised(owner, app, "devices:read")
    owner.bio = "hello"
    owner.save()
    assert bearer(again["access_token"]).get("/devices").status_code == 200


def test_a_disabled_accounts_app_tokens_stop(owner, app):
    token = authorised(owner, app, "devices:read")["access_token"]
    owner.is_active = False
    owner.save()
    assert bearer(token).get("/devices").status_code == 401


def test_denying_sends_the_person_back_with_access_denied(owner, app):
    _verifier, challenge = pkce()
    params = authorize_params(app, "devices:read", challenge)
    denied = browser(owner).post("/oauth/authorize/", params)  # no "allow"
    assert denied.status_code == 302
    assert parse_qs(urlsplit(denied["Location"]).query)["error"] == ["access_denied"]
    assert not Grant.objects.exists()


def test_a_login_first_then_back_to_the_consent_page(owner, app):
    _verifier, challenge = pkce()
    params = authorize_params(app, "devices:read", challenge)
    client = Client()
    sent = client.get("/oauth/authorize/", params)
    assert sent.status_code == 302 and sent["Location"].startswith("/accounts/login/")
    logged_in = client.post(sent["Location"], {"username": "alice", "password": PASSWORD})
    assert logged_in.status_code == 302 and logged_in["Location"].startswith("/oauth/authorize/")
    assert "Fleet Reports" in client.get(logged_in["Location"]).content.decode()


def test_pkce_is_required_and_only_s256(owner, app):
    client = browser(owner)
    _verifier, challenge = pkce()
    params = authorize_params(app, "devices:read", challenge)
    del params["code_challenge"], params["code_challenge_method"]
    missing = client.get("/oauth/authorize/", params)
    assert parse_qs(urlsplit(missing["Location"]).query)["error"] == ["invalid_request"]
    plain = authorize_params(app, "devices:read", challenge, code_challenge_method="plain")
    # django-oauth-toolkit refuses "plain" when the code would be made (oauth2_validators.py
    # _create_authorization_code, COMPLIANT_BCP_RFC9700_PKCE_METHOD).
    refused = client.post("/oauth/authorize/", {**plain, "allow": "Authorize"})
    assert parse_qs(urlsplit(refused["Location"]).query)["error"] == ["invalid_request"]
    assert not Grant.objects.exists()


def test_a_wrong_verifier_gets_no_token(owner, app):
    _verifier, challenge = pkce()
    code = consent(owner, app, "devices:read", challenge)
    wrong = exchange(app, code, secrets.token_urlsafe(48))
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()


def test_a_redirect_uri_not_registered_is_refused_on_the_hub(owner, app):
    _verifier, challenge = pkce()
    params = authorize_params(
        app, "devices:read", challenge, redirect_uri="https://evil.example/cb"
    )
    refused = browser(owner).get("/oauth/authorize/", params)
    assert refused.status_code == 400  # never sent to the unregistered address
    assert "not valid" in refused.content.decode()
    unknown = browser(owner).get("/oauth/authorize/", {**params, "client_id": "nope"})
    assert unknown.status_code == 400


def test_an_unknown_scope_is_refused(owner, app):
    _verifier, challenge = pkce()
    params = authorize_params(app, "devices:read root", challenge)
    refused = browser(owner).get("/oauth/authorize/", params)
    assert parse_qs(urlsplit(refused["Location"]).query)["error"] == ["invalid_scope"]


def test_registering_an_app_shows_its_client_id_and_it_is_public(outsider, app):
    page = browser(outsider).get("/accounts/apps/registered/").content.decode()
    assert app.client_id in page and REDIRECT in page
    assert app.client_type == "public"
    assert app.authorization_grant_type == "authorization-code"


@pytest.mark.parametrize(
    "uris", ["ftp://example.com/cb", "not a uri", "https://example.com/cb#frag", "x" * 2001]
)
def test_registering_refuses_a_bad_redirect_uri(owner, uris):
    response = browser(owner).post(
        "/accounts/apps/registered/", {"name": "Bad", "redirect_uris": uris}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["redirect_uris"]
    assert not Application.objects.exists()


def test_only_its_developer_deletes_an_app_and_its_tokens_go_with_it(owner, outsider, app):
    token = authorised(owner, app, "devices:read")["access_token"]
    url = f"/accounts/apps/registered/{app.client_id}/delete/"
    assert browser(owner).post(url).status_code == 404
    client = browser(outsider)
    assert "Delete the app “Fleet Reports”?" in client.get(url).content.decode()
    assert client.post(url).status_code == 302
    assert not Application.objects.exists()
    assert bearer(token).get("/devices").status_code == 401


def test_the_password_grant_is_off(owner, app):
    refused = Client().post(
        "/oauth/token/",
        {
            "grant_type": "password",
            "username": "alice",
            "password": PASSWORD,
            "client_id": app.client_id,
        },
    )
    assert refused.status_code in (400, 401)
    assert not AccessToken.objects.exists()


def test_a_token_of_an_app_without_a_person_acts_for_nobody(outsider):
    app = Application.objects.create(
        name="machine",
        client_type="confidential",
        authorization_grant_type="client-credentials",
        user=outsider,
    )
    raw = oauth.new_access_token()
    row = AccessToken(application=app, expires=timezone.now() + dt.timedelta(hours=1))
    row.scope = "devices:read"
    from oauth2_provider.models import set_token_value

    set_token_value(row, raw)
    row.save()
    assert bearer(raw).get("/devices").status_code == 401


def test_the_hourly_sweep_deletes_only_what_can_no_longer_be_used(owner, app, settings):
    from portal.tasks import clear_expired_oauth

    live = authorised(owner, app, "devices:read")
    refreshable = authorised(owner, app, "trails:read")
    AccessToken.objects.filter(scope="trails:read").update(
        expires=timezone.now() - dt.timedelta(seconds=1)
    )
    used_up = authorised(owner, app, "packs:read")
    AccessToken.objects.filter(scope="packs:read").update(
        expires=timezone.now() - dt.timedelta(seconds=1)
    )
    RefreshToken.objects.filter(access_token__scope="packs:read").update(
        created=timezone.now() - dt.timedelta(days=31)
    )
    _verifier, challenge = pkce()
    consent(owner, app, "devices:read", challenge)  # a code never traded
    Grant.objects.update(expires=timezone.now() - dt.timedelta(seconds=1))

    assert clear_expired_oauth() == 3  # the code, packs' refresh token, then its access token
    assert clear_expired_oauth() == 0
    assert set(AccessToken.objects.values_list("scope", flat=True)) == {
        "devices:read",
        "trails:read",
    }
    assert bearer(live["access_token"]).get("/devices").status_code == 200
    body = {"grant_type": "refresh_token", "client_id": app.client_id}
    fresh = Client().post("/oauth/token/", {**body, "refresh_token": refreshable["refresh_token"]})
    assert fresh.status_code == 200
    gone = Client().post("/oauth/token/", {**body, "refresh_token": used_up["refresh_token"]})
    assert gone.status_code == 400


def test_the_audit_log_says_an_app_made_a_change(owner, app, device):
    from portal.models import AuditEntry

    token = authorised(owner, app, "devices:write")["access_token"]
    changed = bearer(token).put(f"/devices/{device.id}/user-meta", {"a": "1"}, format="json")
    assert changed.status_code == 200
    entry = AuditEntry.objects.get(owner=owner, action="device.meta")
    assert (entry.actor, entry.via, entry.token_id) == ("alice", "app", None)


def test_every_scope_has_its_words_and_the_provider_offers_exactly_them(settings):
    from portal.scopes import DESCRIPTIONS, SCOPES

    assert list(DESCRIPTIONS) == list(SCOPES)
    assert all(words.strip() for words in DESCRIPTIONS.values())
    assert settings.OAUTH2_PROVIDER["SCOPES"] == DESCRIPTIONS


def test_an_app_asking_no_scope_may_read_devices_trails_objects_and_packs_only(owner, app):
    verifier, challenge = pkce()
    client = browser(owner)
    params = authorize_params(app, "", challenge)
    del params["scope"]
    page = client.get("/oauth/authorize/", params)
    text = page.content.decode()
    assert "see your packs and their rollouts" in text and "audit" not in text
    # What the browser posts back: the form's hidden fields, the scopes granted among them.
    hidden = {k: v for k, v in page.context["form"].initial.items() if v is not None}
    allowed = client.post("/oauth/authorize/", {**hidden, "allow": "Authorize"})
    code = parse_qs(urlsplit(allowed["Location"]).query)["code"][0]
    tokens = exchange(app, code, verifier).json()
    assert set(tokens["scope"].split()) == {
        "devices:read",
        "trails:read",
        "objects:read",
        "packs:read",
    }
    assert bearer(tokens["access_token"]).get("/audit").status_code == 403
