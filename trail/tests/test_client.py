"""trail.client: tokens, re-login through ph-aeps, retries and errors."""

from __future__ import annotations

import base64
import inspect
import json
import time
from pathlib import Path

import httpcore
import httpx
import pytest

from trail import api
from trail.client import READ_SIZE, Hub, HubError, Retry, normalize_url, token_expiry

FAST = Retry(attempts=4, base=0.001, cap=0.002)


def make_hub(handler, **kwargs) -> Hub:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return Hub("http://hub.test", http=http, retry=kwargs.pop("retry", FAST), **kwargs)


def fake_jwt(exp: float) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"exp": exp}).encode()).decode().rstrip("=")
    return f"e30.{payload}.sig"


async def test_it_logs_in_again_through_the_aeps_the_401_names():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append((request.method, request.url.path, request.headers.get("Authorization")))
        if request.url.path == "/elsewhere/auth/login":
            assert json.loads(request.content) == {"username": "alice", "password": "pw"}
            return httpx.Response(200, json={"token": "fresh"})
        if request.headers.get("Authorization") == "Bearer fresh":
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(
            401,
            json={"error": "token expired", "code": "token-expired"},
            headers={
                "WWW-Authenticate": 'JWT realm="pantahub services", '
                'ph-aeps="http://hub.test/elsewhere/auth"'
            },
        )

    asked = []

    async def credentials(aeps: str):
        asked.append(aeps)
        return "alice", "pw"

    kept = []
    hub = make_hub(handler, token="stale", credentials=credentials, on_token=kept.append)
    assert await hub.get_json("/devices/") == {"ok": True}
    assert asked == ["http://hub.test/elsewhere/auth"]
    assert kept == ["fresh"]
    assert calls[-1] == ("GET", "/devices/", "Bearer fresh")


async def test_it_gives_up_after_one_new_login():
    paths = []

    def handler(request):
        paths.append(request.url.path)
        if request.url.path == "/auth/login":
            return httpx.Response(200, json={"token": "also-refused"})
        return httpx.Response(401, json={"error": "no", "code": "token-invalid"})

    asked = []

    async def credentials(aeps):
        asked.append(aeps)
        return "alice", "pw"

    hub = make_hub(handler, token="t", credentials=credentials)
    with pytest.raises(HubError) as info:
        await hub.get_json("/devices/")
    assert info.value.status == 401
    # Exactly one new login between the two refusals: not none, not a loop.
    assert len(asked) == 1
    assert paths == ["/devices/", "/auth/login", "/devices/"]


async def test_it_retries_server_errors_on_reads():
    answers = iter([503, 502, 200])

    def handler(request):
        return httpx.Response(next(answers), json={"n": 1})

    assert await make_hub(handler).get_json("/x") == {"n": 1}


async def test_it_does_not_repeat_a_post_the_server_may_have_seen():
    seen = []

    def handler(request):
        seen.append(request.method)
        raise httpx.ReadError("connection reset")

    with pytest.raises(HubError, match="cannot reach http://hub.test"):
        await make_hub(handler).request("POST", "/trails/")
    assert seen == ["POST"]


async def test_it_repeats_any_request_that_never_connected():
    attempts = []

    def handler(request):
        attempts.append(1)
        if len(attempts) < 3:
            raise httpx.ConnectError("refused")
        return httpx.Response(200, json={"posted": True})

    assert await make_hub(handler).send_json("POST", "/trails/", {}) == {"posted": True}
    assert len(attempts) == 3


async def test_it_stops_retrying_after_the_last_attempt():
    attempts = []

    def handler(request):
        attempts.append(1)
        raise httpx.ConnectError("refused")

    with pytest.raises(HubError) as info:
        await make_hub(handler).get_json("/x")
    assert info.value.status is None
    assert len(attempts) == FAST.attempts


async def test_it_shows_the_servers_own_error_message():
    def handler(request):
        return httpx.Response(409, json={"error": "rev 3 exists", "code": "rev-taken"})

    with pytest.raises(HubError) as info:
        await make_hub(handler).send_json("POST", "/trails/x/steps", {})
    assert str(info.value) == "POST /trails/x/steps: HTTP 409: rev 3 exists"
    assert (info.value.status, info.value.code) == (409, "rev-taken")


async def test_it_refreshes_a_token_about_to_expire():
    def handler(request):
        assert request.url.path == "/auth/login" and request.method == "GET"
        return httpx.Response(200, json={"token": "renewed"})

    hub = make_hub(handler, token=fake_jwt(time.time() + 30))
    await hub.refresh_if_expiring(within=600)
    assert hub.token == "renewed"


async def test_it_leaves_a_fresh_token_alone():
    def handler(request):
        raise AssertionError("no request expected")

    token = fake_jwt(time.time() + 3600)
    hub = make_hub(handler, token=token)
    await hub.refresh_if_expiring(within=600)
    assert hub.token == token


def test_it_reads_the_expiry_of_a_token_without_a_key():
    assert token_expiry(fake_jwt(1234.0)) == 1234.0
    assert token_expiry("not a jwt") is None


@pytest.mark.parametrize(
    "given, expected",
    [
        ("127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("https://hub.example/", "https://hub.example"),
        ("http://h/prefix/", "http://h/prefix"),
    ],
)
def test_it_normalizes_hub_urls(given, expected):
    assert normalize_url(given) == expected


@pytest.mark.parametrize("bad", ["", "ftp://x", "http://"])
def test_it_refuses_what_is_not_a_hub_url(bad):
    with pytest.raises(HubError):
        normalize_url(bad)


async def test_hubs_sharing_a_gate_send_only_that_many_requests_at_once():
    import asyncio

    running = peak = 0

    async def handler(request):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        return httpx.Response(200, json=[])

    gate = asyncio.Semaphore(2)
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    hubs = [Hub("http://hub.test", http=http, token="t", gate=gate) for _ in range(8)]
    await asyncio.gather(*(hub.get_json("/trails/x/steps") for hub in hubs))
    assert peak == 2


def test_it_reads_responses_in_large_pieces():
    # trail.client raises httpcore's read size: a clone's gigabytes then climb
    # through the HTTP stack in a quarter as many pieces. This fails if httpcore
    # renames the attribute or stops reading it.
    assert httpcore.AsyncHTTP11Connection.READ_NUM_BYTES >= READ_SIZE == 256 * 1024
    source = inspect.getsourcefile(httpcore.AsyncHTTP11Connection.handle_async_request)
    assert "self.READ_NUM_BYTES" in Path(source).read_text()


async def test_a_device_poll_is_conditional_once_it_has_an_etag():
    seen = []
    steps = [{"rev": 3, "status": "NEW", "state": {"#spec": "x"}}]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == '"v1"':
            return httpx.Response(304, headers={"ETag": '"v1"'})
        return httpx.Response(200, json=steps, headers={"ETag": '"v1"'})

    hub, last = make_hub(handler, token="t"), api.LastPoll()
    first = await api.pending_steps(hub, "d1", last)
    first[0]["status"] = "changed by the caller"  # the kept answer is the caller's to spoil
    again = await api.pending_steps(hub, "d1", last)
    assert seen == [None, '"v1"']
    assert again == steps
    assert await api.pending_steps(hub, "d1") == steps  # no LastPoll: no condition
    assert seen[-1] is None
