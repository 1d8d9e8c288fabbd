"""Hostile bodies against real servers: uvicorn (ASGI) and gunicorn (WSGI) as deployed.

The test client cannot send ``Transfer-Encoding: chunked`` nor trickle a body,
so these run the hub in a subprocess (testsupport/live.py) under each
server, with the flags docs/deployment.md gives.
"""

from __future__ import annotations

import http.client
import json
import socket
import time

import httpx
import pytest

from testsupport.live import LiveHub

pytestmark = [pytest.mark.reliability, pytest.mark.e2e]

GUNICORN_TIMEOUT = 3  # seconds


@pytest.fixture(params=["uvicorn", "gunicorn"])
def hub(request, tmp_path):
    if request.param == "uvicorn":
        hub = LiveHub(tmp_path)
    else:  # as docs/deployment.md runs it (sync workers); --timeout 30 there, short here
        hub = LiveHub(tmp_path, "gunicorn", workers=1, args=["--timeout", str(GUNICORN_TIMEOUT)])
    hub.migrate()
    hub.start()
    yield hub
    hub.stop()


def chunked(hub, method: str, path: str, token: str, parts: list[bytes]):
    connection = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=30)
    connection.request(
        method,
        path,
        body=iter(parts),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        encode_chunked=True,
    )
    response = connection.getresponse()
    status, body = response.status, response.read()
    connection.close()
    return status, json.loads(body)


def test_a_chunked_body_is_read_under_each_server(hub):
    """PUT user-meta with a chunked body answered 200 and wiped the meta (curl -T -)."""
    token = hub.signup("alice", "correct-horse-battery")
    device = httpx.post(hub.url + "/devices/", json={"secret": "s3cret-s3cret"}).json()
    path = f"/devices/{device['id']}/user-meta"
    headers = {"Authorization": f"Bearer {token}"}
    claim = httpx.put(
        hub.url + f"/devices/{device['id']}",
        params={"challenge": device["challenge"]},
        headers=headers,
    )
    assert claim.status_code == 200, claim.text
    assert httpx.put(hub.url + path, json={"keep": "me"}, headers=headers).status_code == 200

    status, body = chunked(hub, "PUT", path, token, [b'{"new":', b' "val"}'])
    assert (status, body) == (200, {"new": "val"})
    assert httpx.get(hub.url + path, headers=headers).json() == {"new": "val"}

    too_big = [b'{"k": "', b"x" * 200_000, b'"}']
    status, body = chunked(hub, "PUT", path, token, too_big)
    assert (status, body["code"]) == (413, "too-large")
    assert httpx.get(hub.url + path, headers=headers).json() == {"new": "val"}


@pytest.mark.parametrize("hub", ["gunicorn"], indirect=True)
def test_a_trickled_body_does_not_hold_a_worker_for_ever(hub):
    """Slowloris: one byte a second of a 1000-byte body. gunicorn's --timeout ends the
    worker that waits for it, and the next request is served by a fresh one."""
    with socket.create_connection(("127.0.0.1", hub.port)) as slow:
        slow.sendall(
            b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
        )
        started = time.monotonic()
        slow.settimeout(1)
        closed = False
        while time.monotonic() - started < GUNICORN_TIMEOUT * 4:
            try:
                slow.sendall(b" ")
                if slow.recv(1024) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except OSError:
                closed = True
                break
        assert closed, "the trickling client still holds the worker"
    response = httpx.get(hub.url + "/auth/auth_status", timeout=GUNICORN_TIMEOUT * 4)
    assert response.status_code == 401
