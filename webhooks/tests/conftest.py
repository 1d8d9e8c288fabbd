"""Fixtures for the webhook tests: a real HTTP receiver on 127.0.0.1, committed actions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from revisions import services as revisions
from webhooks import services
from webhooks.tests.helpers import state


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What the server was sent, and the statuses it answers with (200 once they run out)."""

    url: str
    requests: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    #: A ``Location`` to send with a 3xx answer.
    location: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP server in a thread of this process; each POST is recorded before it is answered,
    so a delivery made inline (eager Celery) is in ``requests`` when the action returns."""
    box: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            seen = box[0]
            seen.requests.append(Received(self.path, dict(self.headers), self.rfile.read(length)))
            code = seen.answers.pop(0) if seen.answers else 200
            self.send_response(code)
            if seen.location:
                self.send_header("Location", seen.location)
            answer = b"ok" if code < 300 else b"Internal trouble"
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def do_GET(self) -> None:  # the target of a redirect, which must never be followed
            box[0].requests.append(Received(self.path, dict(self.headers), b""))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.append(Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box[0]
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(autouse=True)
def _eager_tasks():
    """Run the tasks inline, whatever broker the environment names (CI's second pass sets
    REDIS_URL): a delivery is then made by the time the action that caused it returns."""
    from trailhub.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def private_targets(settings):
    """Let webhooks reach 127.0.0.1, where the test's receiver listens."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    return settings


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``committed(fn, *args)``: run ``fn``, then what it queued for after commit (signals,
    tasks), as a real transaction would; returns what ``fn`` returned."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


@pytest.fixture
def make_hook(owner, private_targets):
    def make(url: str, events=("*",), who=None, secret: str = "s3cret-for-tests"):
        return services.register(who or owner, url, list(events), secret)

    return make


@pytest.fixture
def trail(device, committed):
    """``device``'s trail with its factory revision (rev 0)."""
    return committed(revisions.create_trail, device, state(0))
