"""GET /healthz (liveness) and GET /readyz (readiness), anonymous, on real failures."""

from __future__ import annotations

import time

import pytest
from django.db import connections

from testsupport.live import free_port
from trailhub import workers


def test_it_answers_healthz_anonymously_without_touching_the_database(client):
    # No django_db mark: a query would fail the test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_it_is_ready_when_everything_answers(client):
    if workers.expected():  # REDIS_URL is set: tasks go to Redis, a worker must be seen
        workers.beat("celery@test")
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ready"] is True
    assert set(body["checks"]) == {"database", "migrations", "redis", "objects", "worker"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["migrations"]["detail"] == "all applied"
    if not workers.expected():
        assert body["checks"]["worker"]["detail"] == "not needed (no broker: tasks run inline)"
        assert body["checks"]["redis"]["detail"].startswith("not configured")


@pytest.mark.django_db
def test_it_expects_no_worker_when_tasks_run_inline(client, settings):
    from trailhub.celery import app

    settings.WORKER_HEARTBEAT_TIMEOUT = 30
    before, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        worker = client.get("/readyz").json()["checks"]["worker"]
    finally:
        app.conf.task_always_eager = before
    assert worker == {
        "ok": True,
        "detail": "not needed (no broker: tasks run inline)",
        "ms": worker["ms"],
    }


@pytest.mark.django_db
def test_it_names_the_database_when_it_refuses_connections(client, monkeypatch):
    """A real refusal: the server's port is closed, or the SQLite file cannot be opened."""
    settings_dict = connections["default"].settings_dict
    if connections["default"].vendor == "postgresql":
        monkeypatch.setitem(settings_dict, "HOST", "127.0.0.1")
        monkeypatch.setitem(settings_dict, "PORT", str(free_port()))
    else:
        monkeypatch.setitem(settings_dict, "NAME", "/nonexistent/folder/trailhub.sqlite3")
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "not-ready"
    assert body["ready"] is False
    assert body["checks"]["database"]["ok"] is False
    assert "cannot query the database" in body["checks"]["database"]["detail"]
    assert body["error"].startswith("not ready: database: cannot query the database")
    assert body["checks"]["objects"]["ok"] is True  # the others are still checked


@pytest.mark.django_db
def test_it_names_the_objects_store_when_it_cannot_be_written(client, settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings.STORAGES = {
        **settings.STORAGES,
        "objects": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": blocker / "objects"},
        },
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["objects"] == {
        "ok": False,
        "detail": f"{blocker} is not a writable folder",
        "ms": response.json()["checks"]["objects"]["ms"],
    }


@pytest.mark.django_db
def test_it_names_redis_when_it_does_not_answer(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    body = client.get("/readyz").json()
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["redis"]["detail"].startswith("Redis does not answer")


@pytest.mark.django_db
def test_it_names_the_worker_until_a_heartbeat_is_fresh(client, settings, broker_configured):
    settings.WORKER_HEARTBEAT_TIMEOUT = 30
    response = client.get("/readyz")
    assert response.status_code == 503
    worker = response.json()["checks"]["worker"]
    assert worker["ok"] is False
    assert worker["detail"] == f"{workers.MISSING} (no task worker has ever sent a heartbeat)"

    workers.beat("celery@old")
    heartbeat = workers.last_heartbeat()
    heartbeat["at"] -= 31
    from django.core.cache import cache

    cache.set(workers.HEARTBEAT_KEY, heartbeat)
    stale = client.get("/readyz")
    assert stale.status_code == 503
    assert "the last heartbeat came 31 s ago from celery@old" in stale.json()["error"]

    workers.beat("celery@fresh")
    fresh = client.get("/readyz")
    assert fresh.status_code == 200, fresh.content
    assert fresh.json()["checks"]["worker"]["detail"] == "celery@fresh seen 0 s ago"


@pytest.mark.django_db
def test_it_names_unapplied_migrations(client, monkeypatch):
    from trailhub import health

    on_disk = health._migrations_on_disk()
    monkeypatch.setattr(
        health, "_migrations_on_disk", lambda: on_disk | {("portal", "9999_not_yet")}
    )
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"]["detail"] == (
        "1 not applied (the first: portal.9999_not_yet); run manage.py migrate"
    )
