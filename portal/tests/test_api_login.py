import time

import jwt
import pytest
from django.conf import settings

from conftest import PASSWORD
from trail.wire import ANON_PRN

pytestmark = pytest.mark.django_db


def login(api, username, password=PASSWORD, path="/auth/login"):
    return api.post(path, {"username": username, "password": password}, format="json")


def test_it_logs_in_and_returns_a_signed_token(api, owner):
    response = login(api, "alice")
    assert response.status_code == 200
    claims = jwt.decode(response.json()["token"], settings.SECRET_KEY, algorithms=["HS256"])
    assert claims["prn"] == owner.prn == f"prn:::accounts:/{owner.id}"
    assert claims["nick"] == "alice"
    assert claims["type"] == "USER"
    assert claims["roles"] == "user"
    assert claims["exp"] - claims["orig_iat"] == settings.JWT_TTL


@pytest.mark.parametrize("path", ["/auth/login", "/auth/login/"])
def test_it_answers_with_and_without_trailing_slash(api, owner, path):
    assert login(api, "alice", path=path).status_code == 200


def test_it_refuses_a_wrong_password_with_the_pantahub_header(api, owner):
    response = login(api, "alice", "wrong")
    assert response.status_code == 401
    assert response.json() == {"error": "wrong username or password", "code": "bad-credentials"}
    assert response["WWW-Authenticate"] == (
        'JWT realm="pantahub services", ph-aeps="http://testserver/auth"'
    )


def test_it_shows_the_claims_of_a_token(api, owner):
    token = login(api, "alice").json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api.get("/auth/auth_status")
    assert response.status_code == 200
    assert response.json()["nick"] == "alice"
    assert response.json()["prn"] == owner.prn


def test_it_refreshes_a_token_keeping_its_original_issue_time(api, owner):
    first = login(api, "alice").json()["token"]
    orig = jwt.decode(first, settings.SECRET_KEY, algorithms=["HS256"])["orig_iat"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {first}")
    response = api.get("/auth/login")
    assert response.status_code == 200
    claims = jwt.decode(response.json()["token"], settings.SECRET_KEY, algorithms=["HS256"])
    assert claims["orig_iat"] == orig
    assert claims["prn"] == owner.prn


def test_it_refuses_refresh_without_a_token(api):
    response = api.get("/auth/login")
    assert response.status_code == 401
    assert "ph-aeps" in response["WWW-Authenticate"]


def test_it_refuses_refresh_past_the_refresh_window(api, owner, settings):
    old = int(time.time()) - settings.JWT_REFRESH_WINDOW - 10
    claims = {
        "prn": owner.prn,
        "type": "USER",
        "ver": owner.token_stamp(),
        "orig_iat": old,
        "exp": int(time.time()) + 60,
    }
    api.credentials(HTTP_AUTHORIZATION="Bearer " + jwt.encode(claims, settings.SECRET_KEY))
    response = api.get("/auth/login")
    assert response.status_code == 401
    assert response.json()["code"] == "token-expired"


def test_it_refuses_an_expired_token(api, owner, settings):
    claims = {"prn": owner.prn, "type": "USER", "exp": int(time.time()) - 1}
    api.credentials(HTTP_AUTHORIZATION="Bearer " + jwt.encode(claims, settings.SECRET_KEY))
    response = api.get("/auth/auth_status")
    assert response.status_code == 401
    assert response.json()["code"] == "token-expired"
    assert "ph-aeps" in response["WWW-Authenticate"]


def test_it_refuses_a_tampered_token(api, owner, outsider):
    token = login(api, "mallory").json()["token"]
    header, payload, signature = token.split(".")
    forged = jwt.encode(
        {"prn": owner.prn, "type": "USER", "exp": int(time.time()) + 60},
        "not-the-key-not-the-key-not-the-key!",
    )
    for bad in (f"{header}.{forged.split('.')[1]}.{signature}", token[:-3] + "abc", "garbage"):
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {bad}")
        response = api.get("/auth/auth_status")
        assert response.status_code == 401, bad
        assert response.json()["code"] == "token-invalid"


def test_a_stale_token_does_not_stop_a_login(api, owner):
    api.credentials(HTTP_AUTHORIZATION="Bearer garbage")
    assert login(api, "alice").status_code == 200


def test_it_throttles_repeated_failed_logins_but_not_the_right_password_first(api, owner, outsider):
    for _ in range(3):
        assert login(api, "alice").status_code == 200
    for _ in range(10):
        assert login(api, "alice", "wrong").status_code == 401
    response = login(api, "alice")
    assert response.status_code == 429
    assert "Retry-After" in response
    assert response.json()["code"] == "throttled"
    # Other accounts from the same address are not locked out by alice's failures.
    assert login(api, "mallory").status_code == 200


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"username": 5}', b'{"username": "alice"}'],
)
def test_it_answers_malformed_bodies_with_a_json_400(api, owner, body):
    response = api.post("/auth/login", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]


def test_it_refuses_an_oversized_body(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = b'{"username": "' + b"a" * 4096 + b'", "password": "x"}'
    response = api.post("/auth/login", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "too-large"


def test_a_failed_login_with_any_username_makes_a_valid_cache_key(api, recwarn):
    from django.core.cache.backends.base import CacheKeyWarning

    response = api.post("/auth/login", {"username": "é x " * 50, "password": "no"}, format="json")
    assert response.status_code == 401
    assert not [w for w in recwarn if issubclass(w.category, CacheKeyWarning)]


def anon_login(api, password=ANON_PRN):
    body = {
        "username": ANON_PRN,
        "password": password,
        "scope": "devices.readonly objects.readonly trails.readonly",
    }
    return api.post("/auth/login", body, format="json")


def test_it_gives_pvr_its_anonymous_token(api):
    """pvr logs in as prn:pantahub.com:auth:/anon (username and password, with a
    read-only scope) before it asks for credentials, and needs a 200 with a token
    (pvr libpvr/authlib.go getNewAccessToken 302-306, doAuthenticate 168-207)."""
    response = anon_login(api)
    assert response.status_code == 200
    claims = jwt.decode(response.json()["token"], settings.SECRET_KEY, algorithms=["HS256"])
    assert (claims["prn"], claims["type"]) == (ANON_PRN, "ANON")


def test_the_anonymous_login_never_counts_as_a_failure(api, owner):
    """Each pvr command against a private device may log in anonymously first
    (pvr libpvr/session.go DoAuthCall 95-160): never throttled, never counted."""
    for _ in range(15):
        assert anon_login(api).status_code == 200
    assert login(api, "alice").status_code == 200
    for _ in range(10):
        assert anon_login(api, password="guess").status_code == 401  # not the anonymous login
    assert anon_login(api, password="guess").status_code == 429
    assert anon_login(api).status_code == 200


def test_the_anonymous_token_names_nobody(api, owner):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {anon_login(api).json()['token']}")
    response = api.get("/auth/auth_status")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        'JWT realm="pantahub services", ph-aeps="http://testserver/auth",'
        ' error="insufficient_scope"'
    )
    assert api.get("/auth/login").status_code == 401  # nothing to refresh
