"""Logging in, and in again when the hub says the token is no good."""

from __future__ import annotations

import json
import sys
import time

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
