"""Hostile request bodies and URLs: bounded before they are read, 4xx and never a 500.

Each test reproduces a finding of reviews/security.md (issue 17) against the
code that fixed it: per-route body caps checked on Content-Length before the
body is read (4), the ASGI guard in front of Django's spooling (5), deep
nesting (6), lone surrogates (7), chunked bodies (9), NUL in URLs (10),
export file names (11), security headers and tokens in logs (12).
"""

from __future__ import annotations

import io
import json
import logging
import time

import pytest
from asgiref.testing import ApplicationCommunicator
from django.urls import get_resolver
from django.urls.resolvers import URLPattern, URLResolver

from devices.models import Device
from portal.parsers import BODY_LIMITS
from revisions import services as revisions_services
from revisions.models import Step
from trailhub.tests.asgi import answer

pytestmark = pytest.mark.reliability

SPEC = {"#spec": "pantavisor-service-system@1"}


@pytest.fixture
def trail(device):
    trail = revisions_services.create_trail(device, dict(SPEC))
    trail.device = device
    return trail


def send(api, method: str, path: str, body, subject=None, **extra):
    """``body`` as raw text (str) or JSON, with ``subject``'s token."""
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return api.as_(subject).generic(method, path, data, content_type="application/json", **extra)


def error_of(response) -> tuple[int, str]:
    body = response.json()
    assert set(body) >= {"error", "code"}, body
    return response.status_code, body["code"]


def deep(kind: str, depth: int) -> str:
    if kind == "array":
        return "[" * depth + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


def wrapped(text: str, where: str) -> str:
    """``text`` as the value of a member ``where`` (a JSON object body)."""
    return '{"' + where + '":' + text + "}"


# --- 4: body caps per route, on Content-Length, before reading --------------------


def all_routes() -> set[str]:
    routes: set[str] = set()

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                routes.add((prefix + str(pattern.pattern)).rstrip("/"))

    walk(get_resolver().url_patterns, "")
    return routes


def test_it_names_only_real_routes_in_the_body_limits(settings):
    """A renamed route would silently fall back to API_MAX_BODY_BYTES."""
    assert set(BODY_LIMITS) <= all_routes()
    for setting in BODY_LIMITS.values():
        assert getattr(settings, setting) < settings.API_MAX_BODY_BYTES


class Unreadable(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def read(self, size=-1):
        raise AssertionError("the body was read")

    readinto = read


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/auth/login", "AUTH_MAX_BODY_BYTES"),
        ("/auth/accounts/", "AUTH_MAX_BODY_BYTES"),
        ("/devices/", "META_MAX_BODY_BYTES"),
        ("/logs", "DEVICE_LOG_BATCH_MAX_BYTES"),
        ("/trails/", "API_MAX_BODY_BYTES"),
    ],
)
def test_a_body_over_its_routes_limit_is_refused_unread(client, settings, path, limit):
    """Under WSGI Django reads lazily: the Content-Length alone decides, the body is
    never touched (it was json-loaded whole before: 20 MB cost ~600 MB of RSS)."""
    response = client.generic(
        "POST",
        path,
        content_type="application/json",
        CONTENT_LENGTH=str(getattr(settings, limit) + 1),
        **{"wsgi.input": Unreadable()},
    )
    assert error_of(response) == (413, "too-large")
    assert str(getattr(settings, limit)) in response.json()["error"]


@pytest.mark.django_db
def test_meta_bodies_are_kilobytes(api, device, owner, settings):
    big = {"k": "x" * (settings.META_MAX_BODY_BYTES + 10)}
    response = send(api, "PUT", f"/devices/{device.id}/user-meta", big, owner)
    assert error_of(response) == (413, "too-large")
    assert settings.META_MAX_BODY_BYTES < 200 * 1024


@pytest.mark.django_db
def test_it_counts_values_before_building_them(api, device, owner):
    """300,000 empty objects are 900 KB of text but would be 300,000 dicts."""
    body = "[" + ",".join(["{}"] * 300_000) + "]"
    response = send(api, "PATCH", f"/devices/{device.id}", wrapped(body, "nick"), owner)
    assert error_of(response) == (413, "too-large")
    assert "values" in response.json()["error"]


# --- 6: deep nesting ---------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["array", "object"])
@pytest.mark.parametrize("depth", [5000, 100_000])
@pytest.mark.parametrize(
    ("method", "path", "who"),
    [
        ("POST", "/auth/login", None),
        ("POST", "/auth/accounts", None),
        ("POST", "/devices/", None),
        ("PUT", "/devices/{device}/user-meta", "owner"),
        ("PATCH", "/devices/{device}/device-meta", "device"),
        ("POST", "/logs/", "device"),
        ("POST", "/packs/", "owner"),
        ("POST", "/trails/", "device"),
        ("PUT", "/trails/{device}/steps/0/meta", "owner"),
    ],
)
def test_deep_nesting_is_a_400_without_a_traceback(
    api, device, owner, trail, settings, caplog, method, path, who, kind, depth
):
    # Deep enough to need more than the small routes allow: the depth is what is tested.
    settings.DEVICE_LOG_BATCH_MAX_BYTES = settings.META_MAX_BODY_BYTES = 10**6
    settings.AUTH_MAX_BODY_BYTES = 10**6
    subject = {"owner": owner, "device": device, None: None}[who]
    caplog.set_level(logging.WARNING)
    response = send(api, method, path.format(device=device.id), deep(kind, depth), subject)
    assert error_of(response) == (400, "too-deep")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "who"),
    [
        ("PUT", "/devices/{device}/user-meta", "owner"),
        ("PUT", "/devices/{device}/device-meta", "device"),
        ("PUT", "/trails/{device}/steps/0/meta", "owner"),
    ],
)
def test_meta_is_at_most_64_levels_deep(api, device, owner, trail, method, path, who):
    """Depth 950 was stored, and the meta page of it was 3.6 MB of indentation."""
    subject = owner if who == "owner" else device
    url = path.format(device=device.id)
    assert send(api, method, url, wrapped(deep("array", 63), "m"), subject).status_code == 200
    for depth in (64, 950):
        response = send(api, method, url, wrapped(deep("array", depth), "m"), subject)
        assert error_of(response) == (400, "too-deep")
    assert send(api, "GET", url, "", subject).json() == {"m": json.loads(deep("array", 63))}


@pytest.mark.django_db
@pytest.mark.parametrize("text", [deep("array", 5000), deep("array", 64), '{"a":"\\ud800"}'])
def test_the_user_meta_form_refuses_what_the_api_refuses(client, device, owner, text):
    """The page's form parses JSON itself: 5000 levels were a RecursionError (a 500)."""
    client.force_login(owner)
    response = client.post(
        f"/u/{owner.username}/{device.nick}/meta/", {"user_meta": wrapped(text, "m")}
    )
    assert response.status_code == 200  # the form, with its error
    assert b"Not valid JSON" in response.content
    device.refresh_from_db()
    assert device.user_meta == {}


@pytest.mark.django_db
def test_a_deep_status_filter_is_a_400(api, device, trail):
    """``?progress.status=`` takes JSON too; 3000 levels were a RecursionError (a 500)."""
    url = f"/trails/{device.id}/steps"
    response = api.as_(device).get(url, {"progress.status": '{"$in":' * 3000})
    assert error_of(response) == (400, "bad-filter")
    assert api.as_(device).get(url, {"progress.status": '{"$in":["DONE"]}'}).status_code == 200


# --- 7: lone surrogates ------------------------------------------------------------

SURROGATE = '"\\ud800"'


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "who", "body"),
    [
        ("POST", "/auth/login", None, '{"username":' + SURROGATE + ',"password":"x"}'),
        ("POST", "/auth/accounts", None, '{"nick":' + SURROGATE + ',"password":"x"}'),
        ("POST", "/devices/", None, '{"user-meta":{"a":' + SURROGATE + "}}"),
        ("PUT", "/devices/{device}/user-meta", "owner", '{"a":[1,' + SURROGATE + "]}"),
        ("PUT", "/devices/{device}/device-meta", "device", "{" + SURROGATE + ':"x"}'),
        ("PUT", "/trails/{device}/steps/0/meta", "owner", '{"m":' + SURROGATE + "}"),
        ("POST", "/trails/", "fresh", '{"#spec":"pantavisor-service-system@1","a.json":' + SURROGATE + "}"),
        ("POST", "/logs/", "device", '{"msg":' + SURROGATE + "}"),
    ],
)  # fmt: skip
def test_a_lone_surrogate_is_a_400_before_anything_is_stored(
    api, device, owner, make_device, trail, method, path, who, body
):
    """On SQLite the state with "\\ud800" was stored and its trail was a 500 for ever."""
    fresh = make_device(owner, nick="fresh")
    subject = {"owner": owner, "device": device, "fresh": fresh, None: None}[who]
    devices_before = Device.objects.count()
    response = send(api, method, path.format(device=device.id), body, subject)
    assert error_of(response) == (400, "bad-unicode")
    assert "\\ud800" in response.json()["error"]
    assert Device.objects.count() == devices_before
    assert not Step.objects.filter(trail__device=fresh).exists()
    device.refresh_from_db()
    assert (device.user_meta, device.device_meta) == ({}, {})
    assert Step.objects.get(trail=trail, rev=0).meta == {}


def test_the_login_limits_key_any_username():
    from django.test import RequestFactory

    from portal.limits import LoginLimits

    limits = LoginLimits(RequestFactory().post("/auth/login"), "\ud800")
    assert limits.wait() is None
    limits.record_failure()
    assert all(counter.key for counter in limits.counters)


# --- 9: chunked bodies --------------------------------------------------------------


class Chunked(io.BytesIO):
    """What gunicorn hands Django for a chunked body: a stream that ends with it."""


@pytest.mark.django_db
def test_a_chunked_put_is_read_not_taken_for_empty(api, device, owner):
    """PUT user-meta with Transfer-Encoding: chunked answered 200 and wiped the meta."""
    device.user_meta = {"keep": "me"}
    device.save()
    body = json.dumps({"new": "val"}).encode()
    response = api.as_(owner).generic(
        "PUT",
        f"/devices/{device.id}/user-meta",
        content_type="application/json",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": Chunked(body), "wsgi.input_terminated": True},
    )
    assert response.status_code == 200, response.content
    device.refresh_from_db()
    assert device.user_meta == {"new": "val"}


@pytest.mark.django_db
def test_a_chunked_body_is_a_411_where_the_server_cannot_end_it(api, device, owner):
    device.user_meta = {"keep": "me"}
    device.save()
    response = api.as_(owner).generic(
        "PUT",
        f"/devices/{device.id}/user-meta",
        content_type="application/json",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": Chunked(b'{"new":"val"}')},
    )
    assert error_of(response) == (411, "length-required")
    device.refresh_from_db()
    assert device.user_meta == {"keep": "me"}


@pytest.mark.django_db
def test_a_chunked_body_over_the_routes_limit_is_a_413(api, settings):
    response = api.generic(
        "POST",
        "/auth/login",
        content_type="application/json",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{
            "wsgi.input": Chunked(b" " * (settings.AUTH_MAX_BODY_BYTES + 1)),
            "wsgi.input_terminated": True,
        },
    )
    assert error_of(response) == (413, "too-large")


# --- 10: NUL in URLs ----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/explore/?q=%00", "/u/%00/", "/u/alice/%00/", "/devices/?owner-nick=%00",
        "/devices/%00", "/devices/np/%00/%00", "/trails/%00", "/trails/?after=%00",
        "/objects/%00", "/objects/?after=%00", "/logs/?src=%00", "/logs/?lvl=%00",
        "/logs/?dev=%00", "/packs/%00", "/exports/alice/%00/0/x.tar.gz", "/?%00=1",
    ],
)  # fmt: skip
def test_a_nul_in_a_url_is_a_400_on_every_database(api, owner, url):
    """PostgreSQL answered these with a DataError (a 500); run with DATABASE_URL too."""
    response = api.as_(owner).get(url)
    assert error_of(response) == (400, "nul-character")


# --- 11: export file names -----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["a%0d%0aX-Evil:%201.tar.gz", "a%09b.tar.gz", "a%7f.tar.gz"])
def test_an_export_name_with_control_characters_is_a_400(api, owner, device, trail, name):
    response = api.as_(owner).get(f"/exports/{owner.username}/{device.nick}/0/{name}")
    assert error_of(response) == (400, "bad-filename")


@pytest.mark.django_db
def test_an_export_name_that_is_not_latin_1_is_encoded_as_rfc_6266_says(api, owner, device, trail):
    response = api.as_(owner).get(
        f"/exports/{owner.username}/{device.nick}/0/%C3%A9%E2%80%AE.tar.gz"
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''%C3%A9%E2%80%AE.tar.gz"


# --- 12: headers and tokens in logs --------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/api/docs/", "/auth/auth_status"])
def test_every_response_has_a_content_security_policy(client, path):
    response = client.get(path)
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


@pytest.mark.django_db
def test_the_api_docs_page_has_no_inline_script(client):
    """Swagger UI's setup script is a file of its own (the split view), so the CSP allows it."""
    html = client.get("/api/docs/").content.decode()
    scripts = html.split("<script")[1:]
    assert scripts and all(script.lstrip().startswith("src=") for script in scripts), html
    assert client.get("/api/docs/?script=").status_code == 200


def test_tokens_in_websocket_urls_are_not_logged():
    from portal.ws_auth import RedactTokens

    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, "", 0, '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5", "/ws/device/?x=1&token=eyJsecret.part&y=2"), None,
    )  # fmt: skip
    RedactTokens().filter(record)
    assert (
        record.getMessage()
        == '127.0.0.1:5 - "WebSocket /ws/device/?x=1&token=[redacted]&y=2" [accepted]'
    )
    assert RedactTokens in {type(f) for f in logging.getLogger("uvicorn.error").filters}
    assert RedactTokens in {type(f) for f in logging.getLogger("uvicorn.access").filters}


# --- 5: the ASGI guard ----------------------------------------------------------------


def scope(path: str, length: int | None, method: str = "POST") -> dict:
    headers = [(b"host", b"testserver"), (b"content-type", b"application/json")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return {
        "type": "http", "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": headers, "client": ("127.0.0.1", 1234), "server": ("testserver", 80),
    }  # fmt: skip


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/auth/login", "/nowhere", "/local-s3/x"])
async def test_asgi_refuses_a_content_length_over_the_paths_limit_unread(settings, path):
    """No body message is sent: an answer that waited for the body would never come."""
    from trailhub.asgi import application

    limit = (
        settings.OBJECTS_MAX_BYTES if path.startswith("/local-s3/") else settings.API_MAX_BODY_BYTES
    )
    communicator = ApplicationCommunicator(application, scope(path, limit + 1, "PUT"))
    assert await answer(communicator) == (
        413,
        {"error": f"request body is over the limit of {limit} bytes", "code": "too-large"},
    )
    await communicator.wait(5)


@pytest.mark.django_db(transaction=True)
async def test_asgi_cuts_a_chunked_body_past_the_limit(settings):
    """The 1.5 GB chunked body was spooled to /tmp whole; now the 413 comes after the limit."""
    from trailhub.asgi import application

    settings.API_MAX_BODY_BYTES = 1_000_000
    communicator = ApplicationCommunicator(application, scope("/auth/login", None))
    sent = 0
    for _ in range(11):  # 1.1 MB offered
        await communicator.send_input(
            {"type": "http.request", "body": b" " * 100_000, "more_body": True}
        )
        sent += 100_000
    started = time.monotonic()
    status, body = await answer(communicator)
    assert (status, body["code"]) == (413, "too-large")
    assert time.monotonic() - started < 5
    await communicator.wait(5)
