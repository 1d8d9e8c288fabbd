"""The pre-dispatcher (trailhub/fastpoll.py): Django's answer, byte for byte, or Django itself.

Each request goes through the WSGI application as a server sends it: once to
Django alone (``WSGIHandler``) and once to ``FastPoll`` around Django, and the
status line, headers and body must be the same. Where the fast path may answer
(an unchanged poll of a device's own trail), the test also checks that Django
was not called; everywhere else, that it was.
"""

from __future__ import annotations

import io
import time

import jwt
import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from devices import presence
from devices.models import Device
from portal import metrics
from portal.auth import ALGORITHM, issue_token
from revisions import services
from revisions.pollcache import answer_key
from trailhub.fastpoll import FastPoll

SPEC = "pantavisor-service-system@1"


@pytest.fixture(autouse=True)
def connections_kept():
    """As Django's test client does: a request's signals must not close the test's
    transaction's connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


class Counted:
    """Django's WSGI handler, counting the requests that reach it."""

    def __init__(self) -> None:
        self.handler = WSGIHandler()
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.handler(environ, start_response)


def call(app, path: str, token: str | None = None, etag: str = "", **extra):
    """``(status line, headers, body)`` of one request through the WSGI ``app``."""
    query = path.partition("?")[2]
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path.partition("?")[0],
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        **extra,
    }
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if etag:
        environ["HTTP_IF_NONE_MATCH"] = etag
    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"], started["headers"] = status, list(headers)

    body = b"".join(app(environ, start_response))
    return started["status"], started["headers"], body


def etag_of(answer) -> str:
    return dict(answer[1])["ETag"]


@pytest.fixture
def trail(device):
    return services.create_trail(device, {"#spec": SPEC})


@pytest.fixture
def apps():
    """``(django, fast, inner)``: Django alone, and FastPoll around a counted Django."""
    inner = Counted()
    return WSGIHandler(), FastPoll(inner), inner


def learned(fast, path: str, token: str) -> str:
    """Polls through ``fast`` until it has learned both kinds of answer; returns the ETag."""
    etag = etag_of(call(fast, path, token))  # the full view: stored in the cache
    call(fast, path, token)  # the cache, through Django: a 200 learned
    call(fast, path, token, etag)  # a 304 learned
    return etag


@pytest.mark.parametrize("path", ["/trails/{id}/steps", "/trails/{id}/steps/"])
def test_an_unchanged_poll_is_answered_in_front_of_django_as_django_answers_it(
    apps, owner, device, trail, path
):
    django, fast, inner = apps
    services.post_step(trail, {"#spec": SPEC, "a.json": 1}, author=owner)
    path, token = path.format(id=device.id), issue_token(device)
    etag = learned(fast, path, token)

    before = inner.calls
    plain, not_modified = call(fast, path, token), call(fast, path, token, etag)
    assert inner.calls == before  # answered without Django
    assert plain == call(django, path, token)
    assert not_modified == call(django, path, token, etag)
    assert plain[0] == "200 OK" and b'"rev":1' in plain[2]
    assert not_modified[0] == "304 Not Modified" and not_modified[2] == b""
    headers = dict(plain[1])
    assert headers["Content-Type"] == "application/json" and headers["ETag"] == etag
    assert headers["Content-Length"] == str(len(plain[2]))
    assert "X-Frame-Options" in headers and "Content-Security-Policy" in headers


# pantavisor pantahub/pantahub_proto.c:58-59 (QUERY_PENDING_STEPS), sent every cycle
# (:678-681), as revisions/tests/test_conformance.py replays it.
PANTAVISOR_QUERY = (
    "progress.status=%7B%22$in%22:%5B%22NEW%22,%22DOWNLOADING%22,%22INPROGRESS%22,"
    "%22TESTING%22,%22QUEUED%22%5D%7D"
)
# The same revisions selected by a filter the cache does not answer (no QUEUED).
OTHER_QUERY = 'progress.status={"$in":["NEW","DOWNLOADING","INPROGRESS","TESTING"]}'


def test_pantavisors_poll_is_answered_in_front_of_django_with_the_same_body(
    apps, owner, device, trail
):
    django, fast, inner = apps
    services.post_step(trail, {"#spec": SPEC, "a.json": 1}, author=owner)
    token = issue_token(device)
    path = f"/trails/{device.id}/steps"
    uncached = call(django, f"{path}?{OTHER_QUERY}", token)
    learned(fast, f"{path}?{PANTAVISOR_QUERY}", token)

    before = inner.calls
    answer = call(fast, f"{path}?{PANTAVISOR_QUERY}", token)
    assert inner.calls == before
    assert answer == call(django, f"{path}?{PANTAVISOR_QUERY}", token)
    assert answer[2] == uncached[2] and b'"rev":1' in answer[2]  # what Pantavisor got before
    assert dict(answer[1])["Content-Type"] == dict(uncached[1])["Content-Type"]


def test_it_answers_nothing_before_django_showed_it_the_headers(apps, device, trail):
    _, fast, inner = apps
    path, token = f"/trails/{device.id}/steps", issue_token(device)
    call(fast, path, token)
    call(fast, path, token)
    assert inner.calls == 2  # the second was a cached answer, through Django: now learned
    call(fast, path, token)
    assert inner.calls == 2


def test_a_changed_trail_goes_to_django_and_gets_the_new_answer(apps, owner, device, trail):
    django, fast, inner = apps
    path, token = f"/trails/{device.id}/steps", issue_token(device)
    etag = learned(fast, path, token)
    services.post_step(trail, {"#spec": SPEC, "a.json": 1}, author=owner)

    before = inner.calls
    changed = call(fast, path, token, etag)
    assert inner.calls == before + 1
    assert changed[0] == "200 OK" and b'"rev":1' in changed[2] and etag_of(changed) != etag
    cache.delete(answer_key(device.id))  # Django's full view again, without the cache
    assert changed == call(django, path, token, etag)


def _expired(device) -> str:
    claims = {**device.token_claims(None), "exp": int(time.time()) - 10}
    return jwt.encode(claims, settings.SECRET_KEY, algorithm=ALGORITHM)


def _scoped(owner, scope: str) -> str:
    from portal import tokens

    return tokens.issue(owner, scope, [scope])[1]


def _revoked(owner) -> str:
    token = issue_token(owner)
    owner.set_password("another password entirely")
    owner.save()  # a new token stamp: the old token's "ver" no longer matches
    return token


CALLERS = {
    "a bad token": lambda d, o, s: "not-a-token",
    "an expired device token": lambda d, o, s: _expired(d),
    "a revoked person's token": lambda d, o, s: _revoked(o),
    "no token": lambda d, o, s: None,
    "the owner's token": lambda d, o, s: issue_token(o),
    "a scoped token for trails": lambda d, o, s: _scoped(o, "trails:read"),
    "a scoped token for devices only": lambda d, o, s: _scoped(o, "devices:read"),
    "another device's token": lambda d, o, s: issue_token(s),
}
EXPECTED = {
    "a bad token": "401",
    "an expired device token": "401",
    "a revoked person's token": "401",
    "no token": "401",
    "the owner's token": "200",
    "a scoped token for trails": "200",
    "a scoped token for devices only": "403",
    "another device's token": "404",
}


@pytest.mark.parametrize("caller", CALLERS)
def test_any_other_caller_goes_to_django(apps, owner, device, trail, make_device, caller):
    django, fast, inner = apps
    path = f"/trails/{device.id}/steps"
    learned(fast, path, issue_token(device))  # the device's own answer is cached and learned
    token = CALLERS[caller](device, owner, make_device(owner, nick="sibling"))

    before = inner.calls
    answer = call(fast, path, token)
    assert inner.calls == before + 1
    assert answer == call(django, path, token)
    assert answer[0].startswith(EXPECTED[caller]) and "ETag" not in dict(answer[1])


def test_a_deleted_device_is_refused_at_once(apps, device, trail):
    django, fast, inner = apps
    path, token = f"/trails/{device.id}/steps", issue_token(device)
    learned(fast, path, token)
    Device.objects.filter(pk=device.pk).delete()

    before = inner.calls
    answer = call(fast, path, token)
    assert inner.calls == before + 1 and answer[0].startswith("401")
    assert answer == call(django, path, token)


def test_a_device_given_away_is_answered_by_django_again(apps, device, trail, outsider):
    django, fast, inner = apps
    path, token = f"/trails/{device.id}/steps", issue_token(device)
    learned(fast, path, token)
    moved = Device.objects.get(pk=device.pk)
    moved.owner = outsider
    moved.save()

    before = inner.calls
    answer = call(fast, path, token)
    assert inner.calls == before + 1
    cache.delete(answer_key(device.id))  # Django's full view again, without the cache
    assert answer == call(django, path, token)


@pytest.mark.parametrize(
    "extra",
    [
        {"QUERY_STRING": "progress.status=NEW"},
        {"QUERY_STRING": f"{PANTAVISOR_QUERY}&limit=1"},
        {"QUERY_STRING": '{"$in":' * 3000},
        {"HTTP_HOST": "evil.example"},
        {"HTTP_COOKIE": "sessionid=x"},
        {"REQUEST_METHOD": "HEAD"},
    ],
    ids=[
        "a query string",
        "another parameter",
        "a hostile query",
        "a host not allowed",
        "a cookie",
        "HEAD",
    ],
)
def test_anything_but_a_plain_poll_goes_to_django(apps, device, trail, extra):
    django, fast, inner = apps
    path, token = f"/trails/{device.id}/steps", issue_token(device)
    learned(fast, path, token)

    before = inner.calls
    answer = call(fast, path, token, **extra)
    assert inner.calls == before + 1
    assert answer == call(django, path, token, **extra)


def test_a_fast_answer_notes_presence_and_is_counted(apps, device, trail):
    _, fast, inner = apps
    path, token = f"/trails/{device.id}/steps", issue_token(device)
    etag = learned(fast, path, token)
    Device.objects.filter(pk=device.pk).update(last_seen=None)
    presence.forget()  # the interval has passed
    route = "api-steps"
    requests = metrics.HTTP_REQUESTS.labels(route, "GET", "304")

    def from_cache() -> float:
        # The process's memo answers when there is one (with Redis), else the cache.
        return metrics.POLLS_FROM_MEMORY._value.get() + metrics.POLLS_FROM_CACHE._value.get()

    before = (inner.calls, requests._value.get(), from_cache())
    assert call(fast, path, token, etag)[0] == "304 Not Modified"
    assert inner.calls == before[0]
    assert requests._value.get() == before[1] + 1 and from_cache() == before[2] + 1
    assert Device.objects.get(pk=device.pk).last_seen is not None


def test_the_wsgi_entry_point_is_wrapped():
    from trailhub.wsgi import application

    assert isinstance(application, FastPoll)
