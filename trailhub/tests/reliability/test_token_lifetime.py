"""Tokens end with a password change and with "log out everywhere" (reviews/security.md,
issue 17, item 8).

jwtt.py: after bob changed his password and logged out, his old token still
answered ``GET /auth/auth_status``, ``GET /devices/`` and refreshed on
``GET /auth/login`` for the 7-day refresh window. A user token now carries a
``ver`` claim made from the password hash and the account's token generation
(``User.token_stamp``), checked where the token's account is read anyway.
"""

from __future__ import annotations

import time

import jwt
import pytest
from django.test import Client

from conftest import PASSWORD

pytestmark = pytest.mark.reliability

NEW_PASSWORD = "another horse, another staple"


def token_of(api, username: str = "alice", password: str = PASSWORD) -> str:
    response = api.post("/auth/login", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


def assert_ended(api, token: str) -> None:
    """The token is refused on an API call and on refresh, with a reason."""
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    for path in ("/auth/auth_status", "/devices/", "/auth/login"):
        response = api.get(path)
        assert response.status_code == 401, (path, response.content)
        assert response.json()["code"] == "token-revoked"
        assert "log in again" in response.json()["error"]
        assert "ph-aeps" in response["WWW-Authenticate"]
    api.credentials()


def assert_works(api, token: str) -> None:
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/devices/").status_code == 200
    assert api.get("/auth/login").status_code == 200
    api.credentials()


def test_a_password_change_on_the_page_ends_the_old_tokens(api, client, owner):
    token = token_of(api)
    refreshed = api.get("/auth/login", HTTP_AUTHORIZATION=f"Bearer {token}").json()["token"]
    client.force_login(owner)
    response = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert_ended(api, token)
    assert_ended(api, refreshed)
    assert_works(api, token_of(api, password=NEW_PASSWORD))
    assert client.get("/dashboard/").status_code == 200  # this browser stays logged in


def test_an_admin_setting_the_password_ends_the_old_tokens(api, owner, admin_client):
    token = token_of(api)
    response = admin_client.post(
        f"/admin/portal/user/{owner.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302
    assert_ended(api, token)
    assert_works(api, token_of(api, password=NEW_PASSWORD))


def test_a_password_reset_ends_the_old_tokens(api, owner):
    token = token_of(api)
    owner.set_password(NEW_PASSWORD)  # what the reset confirmation and changepassword do
    owner.save()
    assert_ended(api, token)


def test_logging_out_everywhere_through_the_api_ends_every_token(api, owner, device):
    first, second = token_of(api), token_of(api)
    device_token = token_of(api, device.prn, device.secret)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {first}")
    assert api.post("/auth/logout-everywhere").status_code == 204
    assert_ended(api, first)
    assert_ended(api, second)
    assert_works(api, token_of(api))  # a fresh login works
    # The owner's devices keep their own tokens.
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {device_token}")
    assert api.get("/auth/auth_status").status_code == 200


def test_logging_out_everywhere_is_for_people(api, owner, device):
    assert api.post("/auth/logout-everywhere").status_code == 401
    response = api.as_(device).post("/auth/logout-everywhere")
    assert response.status_code == 403
    assert response.json()["code"] == "person-only"


def test_the_log_out_everywhere_button_ends_tokens_and_every_browser_session(api, owner):
    token = token_of(api)
    here, elsewhere = Client(), Client()
    for browser in (here, elsewhere):
        browser.force_login(owner)
        assert browser.get("/dashboard/").status_code == 200
    page = here.get("/accounts/profile/").content.decode()
    assert 'action="/accounts/logout-everywhere/"' in page
    response = here.post("/accounts/logout-everywhere/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert_ended(api, token)
    for browser in (here, elsewhere):
        assert browser.get("/dashboard/").status_code == 302  # to the login page
    assert (
        here.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code
        == 302
    )
    assert here.get("/dashboard/").status_code == 200
    assert_works(api, token_of(api))


def test_the_button_wants_a_post(client, owner):
    client.force_login(owner)
    assert client.get("/accounts/logout-everywhere/").status_code == 405


def test_a_user_token_without_the_claim_is_refused(api, owner, settings):
    """Tokens issued before the claim existed end as well (people log in once more)."""
    now = int(time.time())
    claims = {"prn": owner.prn, "type": "USER", "iat": now, "orig_iat": now, "exp": now + 60}
    api.credentials(HTTP_AUTHORIZATION="Bearer " + jwt.encode(claims, settings.SECRET_KEY))
    response = api.get("/auth/auth_status")
    assert response.status_code == 401
    assert response.json()["code"] == "token-revoked"


def test_checking_the_claim_costs_no_query(api, owner, django_assert_num_queries):
    """The account's row is read for every user token anyway (is it active?); the
    claim is checked on it. Devices' tokens (the poll path) are not touched."""
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token_of(api)}")
    with django_assert_num_queries(1):
        assert api.get("/auth/auth_status").status_code == 200
