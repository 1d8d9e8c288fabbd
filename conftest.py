"""Fixtures shared by every app's tests: people, API clients, a clean cache, a Redis database."""

import os
import socket
from collections.abc import Iterator

import pytest
import redis
from django.core.cache import cache
from rest_framework.test import APIClient

from devices import presence
from portal.auth import issue_token
from revisions import poll_memo

PASSWORD = "correct horse battery staple"


def pytest_collection_modifyitems(config, items):
    """Run the real-browser tests last.

    Playwright's sync API keeps an event loop running in the main thread for
    the rest of the session once it starts; tests after it that call
    ``asyncio.run`` or the ORM would see that loop and fail.
    """
    items.sort(key=lambda item: "playwright" in item.fixturenames or "/browser/" in item.nodeid)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Tests create many accounts and devices; production hashing would dominate the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def objects_dir(settings, tmp_path):
    """Every test gets its own filesystem objects store, never the one under var/."""
    path = tmp_path / "objects"
    settings.OBJECTS_DIR = path
    settings.STORAGES = {
        **settings.STORAGES,
        "objects": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": path},
        },
    }
    return path


@pytest.fixture(autouse=True)
def _clean_cache(settings):
    # Presence is written in the request that notes it (devices/presence.py), so
    # that a test sees it; test_presence.py tests the flusher thread.
    settings.PRESENCE_FLUSH_INTERVAL = 0
    presence.forget()
    cache.clear()
    poll_memo.clear()
    yield
    cache.clear()
    poll_memo.clear()


# The tests that need a real Redis whatever the suite's configuration take a database of
# their own: claimed in db 0 with SET NX (with an expiry, in case a run dies), so two
# runs at once, two xdist workers or .ci/run's PostgreSQL + Redis pass never share one.
REDIS = "redis://127.0.0.1:6379"
REDIS_DB_LOCK = "trailhub-tests:redis-db:{}"  # .ci/run claims its own the same way
REDIS_DB_LEASE = 2 * 60 * 60  # seconds: longer than any run (CI stops at 90 minutes)


@pytest.fixture(scope="session")
def redis_db() -> Iterator[str]:
    """``redis://127.0.0.1:6379/<n>``: a database no other run uses while this one lasts."""
    locks = redis.Redis.from_url(f"{REDIS}/0")
    holder = f"{socket.gethostname()}:{os.getpid()}"
    # From the top down: databases 1, 2… are where a developer's own Trailhub would be.
    for number in range(15, 0, -1):
        if locks.set(REDIS_DB_LOCK.format(number), holder, nx=True, ex=REDIS_DB_LEASE):
            break
    else:
        raise AssertionError("no free Redis database on 127.0.0.1:6379: 15 runs hold them all")
    try:
        yield f"{REDIS}/{number}"
    finally:
        if locks.get(REDIS_DB_LOCK.format(number)) == holder.encode():
            locks.delete(REDIS_DB_LOCK.format(number))
        locks.close()


@pytest.fixture
def make_user(db, django_user_model):
    def make(nick: str, **extra):
        return django_user_model.objects.create_user(
            username=nick, email=f"{nick}@example.com", password=PASSWORD, **extra
        )

    return make


@pytest.fixture
def owner(make_user):
    return make_user("alice")


@pytest.fixture
def outsider(make_user):
    return make_user("mallory")


@pytest.fixture
def make_device(db):
    """``make_device(owner, nick=..., public=...)``: a device with a known ``.secret``."""
    from devices.models import Device, new_secret

    def make(owner=None, nick: str | None = None, **fields):
        device = Device(owner=owner, **fields)
        device.nick = nick or f"device-{device.id[-6:]}"
        device.secret = new_secret()
        device.set_secret(device.secret)
        device.save()
        return device

    return make


@pytest.fixture
def device(owner, make_device):
    """A device owned by ``owner`` (alice)."""
    return make_device(owner, nick="kiosk")


@pytest.fixture
def api():
    """An API client that can act as anyone: ``api.as_(user_or_device)``."""

    class Client(APIClient):
        def as_(self, subject):
            if subject is None:
                self.credentials()
            else:
                self.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(subject)}")
            return self

    return Client()


@pytest.fixture
def broker_down():
    """Celery queueing to a real Redis broker address where nothing listens.

    Publishing then fails as it does when the broker is away (kombu's own
    connection error, no retries). ``broker_down.back()`` (and the teardown)
    restores the configuration and the app's connection pools.
    """
    import socket

    from trailhub.celery import app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    keys = ("task_always_eager", "broker_url", "task_publish_retry", "broker_connection_timeout")
    before = {key: app.conf[key] for key in keys}

    def reset_pools():
        # Forget the app's pools (kombu keeps them per broker URL and finds them again).
        app._pool = None
        app.amqp._producer_pool = None

    class Broker:
        def back(self) -> None:
            reset_pools()
            app.conf.update(before)

    reset_pools()
    app.conf.update(
        task_always_eager=False,
        broker_url=f"redis://127.0.0.1:{port}/0",
        task_publish_retry=False,
        broker_connection_timeout=1,
    )
    broker = Broker()
    yield broker
    broker.back()
