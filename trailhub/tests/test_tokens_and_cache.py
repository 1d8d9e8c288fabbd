"""A memoised token still expires; the Redis cache keeps one client per connection pool."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from rest_framework import exceptions

from portal import auth
from trailhub.cache import RedisCache


def _token(settings, exp: int) -> str:
    claims = {"prn": "prn:::accounts:/abc", "type": "USER", "exp": exp}
    return jwt.encode(claims, settings.SECRET_KEY)


def test_a_token_verified_before_is_refused_once_it_expires(settings, monkeypatch):
    now = time.time()
    raw = _token(settings, int(now) + 60)
    assert auth.decode_token(raw).claims["prn"] == "prn:::accounts:/abc"
    monkeypatch.setattr(auth.time, "time", lambda: now + 61)
    with pytest.raises(exceptions.AuthenticationFailed) as refused:
        auth.decode_token(raw)
    assert refused.value.get_codes() == "token-expired"


def test_a_memoised_token_is_refused_under_another_signing_key(settings):
    raw = _token(settings, int(time.time()) + 60)
    auth.decode_token(raw)
    settings.SECRET_KEY = "another-key-" + "k" * 40
    with pytest.raises(exceptions.AuthenticationFailed) as refused:
        auth.decode_token(raw)
    assert refused.value.get_codes() == "token-invalid"


def test_a_token_whose_expiry_is_not_a_number_is_invalid(settings):
    raw = jwt.encode({"prn": "p", "type": "USER", "exp": "soon"}, settings.SECRET_KEY)
    with pytest.raises(exceptions.AuthenticationFailed) as refused:
        auth.decode_token(raw)
    assert refused.value.get_codes() == "token-invalid"


def test_the_redis_cache_reuses_its_client_and_works(redis_db):
    prefix = f"cache-test-{uuid.uuid4().hex[:12]}"  # this run's own keys
    cache = RedisCache(redis_db, {"KEY_PREFIX": prefix})
    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client() is client
    cache.set("answer", {"body": b"[]"}, 10)
    assert cache.get_many(["answer", "missing"]) == {"answer": {"body": b"[]"}}
    assert cache.add("answer", 1, 10) is False
    cache.delete("answer")
    assert cache.get("answer") is None
