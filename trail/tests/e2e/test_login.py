"""Logging in, and in again when the hub says the token is no good."""

from __future__ import annotations

import json
import sys
import time

import httpx
import jwt
import pytest

pytestmark = pytest.mark.e2e


def expired_token(live, nick: str) -> str:
    claims = live.get("/auth/auth_status", live.login(nick, "correct horse battery staple"))
    claims.update(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    return jwt.encode(claims, live.secret_key, algorithm="HS256")


def save_token(trail, token: str) -> None:
    path = trail.config / "auth.json"
    logins = json.loads(path.read_text())
    logins["hubs"][trail.live.url]["token"] = token
    path.write_text(json.dumps(logins))


def test_it_logs_in_again_through_ph_aeps_when_the_token_expired(live, alice, trail, monkeypatch):
    save_token(trail, expired_token(live, "alice"))
    asked = []
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or alice.password)
    result = trail("whoami")
    assert result.out.startswith("alice (prn:::accounts:/")
    assert asked == [f"Password for alice at {live.url}/auth: "]  # the ph-aeps URL
    saved = json.loads((trail.config / "auth.json").read_text())["hubs"][live.url]
    assert live.get("/auth/auth_status", saved["token"])["nick"] == "alice"


def test_a_script_is_told_to_log_in_again(live, alice, trail):
    save_token(trail, expired_token(live, "alice"))
    result = trail("device", "list", ok=False)
    assert result.code == 1
    assert (
        result.err
        == f"trail: error: your login expired at {live.url}: run `trail login --hub {live.url}`\n"
    )


def test_a_wrong_password_is_one_clear_line(live, alice, trail):
    result = trail("login", "--username", "alice", "--password-stdin", stdin="wrong\n", ok=False)
    assert result.code == 1
    assert "wrong username or password" in result.err and result.err.count("\n") == 1


def scoped_token(live, nick: str, scopes: list[str]) -> str:
    login = live.login(nick, "correct horse battery staple")
    made = httpx.post(
        live.url + "/auth/tokens",
        headers={"Authorization": f"Bearer {login}"},
        json={"name": f"cli-{time.time_ns()}", "scopes": scopes},
    )
    assert made.status_code == 201, made.text
    return made.json()["token"]


def test_it_logs_in_with_a_scoped_token_and_uses_it(live, alice, trail):
    token = scoped_token(live, "alice", ["devices:read", "trails:read"])
    result = trail("login", "--token", stdin=token + "\n")
    assert result.out == (
        f"logged in to {live.url} as alice with a token scoped to devices:read trails:read\n"
    )
    saved = json.loads((trail.config / "auth.json").read_text())["hubs"][live.url]
    assert saved == {"username": "alice", "token": token}
    assert trail("whoami").out.startswith("alice (prn:::accounts:/")
    assert trail("device", "list").code == 0


def test_a_missing_scope_is_named(live, alice, trail):
    trail("login", "--token", stdin=scoped_token(live, "alice", ["devices:read"]) + "\n")
    result = trail("device", "list", ok=False)
    assert result.code == 1 and "lacks the scope trails:read" in result.err


def test_a_refused_scoped_token_says_to_make_a_new_one(live, alice, trail, monkeypatch):
    token = scoped_token(live, "alice", ["devices:read"])
    trail("login", "--token", stdin=token + "\n")
    login = live.login("alice", "correct horse battery staple")
    mine = [t for t in live.get("/auth/tokens", login) if token.startswith(t["prefix"])]
    revoked = httpx.delete(
        f"{live.url}/auth/tokens/{mine[0]['id']}", headers={"Authorization": f"Bearer {login}"}
    )
    assert revoked.status_code == 200
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    result = trail("whoami", ok=False)
    assert result.code == 1
    assert "refused your scoped token (expired or revoked)" in result.err
    assert "trail login --token" in result.err


def test_it_refuses_something_that_is_not_a_scoped_token(live, alice, trail):
    result = trail("login", "--token", stdin="hunter2\n", ok=False)
    assert result.code == 1 and "a scoped token starts with tht_" in result.err
