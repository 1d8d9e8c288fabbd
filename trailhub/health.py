"""Readiness: can this process serve now? Each dependency checked, none remembered.

``/readyz`` runs every check on every call (a load balancer polls it every
few seconds; a remembered answer would hide a failure), each bounded by
``READYZ_CHECK_TIMEOUT`` seconds through its own client's timeouts:

* ``database`` — a connection of its own (so that a refused connection
  shows) answers ``SELECT 1``;
* ``migrations`` — every migration on disk is recorded as applied;
* ``redis`` — when ``REDIS_URL`` is set, Redis answers a PING;
* ``objects`` — the objects folder is writable, or the bucket answers;
* ``worker`` — when tasks go to a broker, a Celery worker sent a heartbeat
  lately (trailhub/workers.py).

``/healthz`` (liveness) checks nothing but that the process answers.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.storage import storages
from django.db import connections
from django.db.migrations.loader import MigrationLoader

from trailhub import workers


class NotReady(Exception):
    """A check's finding, in words an operator can act on."""


@dataclass
class Result:
    name: str
    ok: bool
    detail: str
    ms: float

    def as_json(self) -> dict:
        return {"ok": self.ok, "detail": self.detail, "ms": round(self.ms, 1)}


def _timeout() -> int:
    return settings.READYZ_CHECK_TIMEOUT


def _own_connection():
    """A new connection to the default database, with a bounded connect and statement time."""
    wrapper = connections.create_connection("default")
    options = dict(wrapper.settings_dict.get("OPTIONS") or {})
    if wrapper.vendor == "postgresql":
        options["connect_timeout"] = _timeout()
        options["options"] = (
            f"{options.get('options', '')} -c statement_timeout={_timeout() * 1000}".strip()
        )
    elif wrapper.vendor == "sqlite":
        options["timeout"] = _timeout()
    wrapper.settings_dict = {**wrapper.settings_dict, "OPTIONS": options}
    return wrapper


def check_database() -> str:
    """Raise NotReady when the database does not answer; return what the migrations lack."""
    connection = _own_connection()
    try:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as exc:
            raise NotReady(f"cannot query the database: {_first_line(exc)}") from None
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT app, name FROM django_migrations")
                applied = set(cursor.fetchall())
        except Exception as exc:
            return f"none is recorded: {_first_line(exc)}"
    finally:
        connection.close()
    missing = sorted(f"{app}.{name}" for app, name in _migrations_on_disk() - applied)
    if missing:
        return f"{len(missing)} not applied (the first: {missing[0]}); run manage.py migrate"
    return ""


@functools.cache
def _migrations_on_disk() -> frozenset[tuple[str, str]]:
    """Every migration the code has, squashed ones by their parts (read once: code is fixed)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return frozenset(loader.graph.nodes)


@functools.cache
def _redis_client(url: str, timeout: int):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


def check_redis() -> str:
    if not settings.REDIS_URL:
        return "not configured (embedded: in-memory channel layer and cache)"
    try:
        _redis_client(settings.REDIS_URL, _timeout()).ping()
    except Exception as exc:
        raise NotReady(f"Redis does not answer: {_first_line(exc)}") from None
    return "answers"


def check_objects() -> str:
    storage = storages["objects"]
    if settings.OBJECTS_BACKEND == "s3":
        try:
            _s3_client().head_bucket(Bucket=storage.bucket_name)
        except Exception as exc:
            raise NotReady(
                f"bucket {storage.bucket_name} does not answer: {_first_line(exc)}"
            ) from None
        return f"bucket {storage.bucket_name} answers"
    path = Path(storage.location)
    # Saving creates the folder; until then its nearest existing parent must take it.
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise NotReady(f"{existing} is not a writable folder")
    return f"{path} writable"


@functools.cache
def _s3_client():
    """A client like the objects storage's own, with bounded timeouts and no retries."""
    from botocore.config import Config

    storage = storages["objects"]
    config = storage.client_config.merge(
        Config(
            connect_timeout=_timeout(), read_timeout=_timeout(), retries={"total_max_attempts": 1}
        )
    )
    return storage._create_session().client(
        "s3",
        region_name=storage.region_name,
        use_ssl=storage.use_ssl,
        endpoint_url=storage.endpoint_url,
        config=config,
        verify=storage.verify,
    )


def check_worker(redis_ok: bool) -> str:
    if not workers.expected():
        return "not needed (no broker: tasks run inline)"
    if settings.REDIS_URL and not redis_ok:
        raise NotReady("the heartbeat cannot be read: Redis does not answer")
    try:
        heartbeat = workers.last_heartbeat()
    except Exception as exc:
        raise NotReady(f"the heartbeat cannot be read: {_first_line(exc)}") from None
    problem = workers.problem(heartbeat)
    if problem or heartbeat is None:
        raise NotReady(f"{workers.MISSING} ({problem})")
    return f"{heartbeat['hostname']} seen {time.time() - heartbeat['at']:.0f} s ago"


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _timed(name: str, check: Callable[[], str]) -> Result:
    started = time.perf_counter()
    try:
        detail, ok = check(), True
    except NotReady as exc:
        detail, ok = str(exc), False
    return Result(name, ok, detail, (time.perf_counter() - started) * 1000)


def readiness() -> list[Result]:
    """Run every check, in order; each result names its check and what is wrong."""
    started = time.perf_counter()
    try:
        unapplied = check_database()
    except NotReady as exc:
        database = Result("database", False, str(exc), 0)
        migrations = Result("migrations", False, "unknown: the database does not answer", 0)
    else:
        database = Result("database", True, "answers", 0)
        migrations = Result("migrations", not unapplied, unapplied or "all applied", 0)
    # One connection serves both checks: they share its time.
    database.ms = migrations.ms = (time.perf_counter() - started) * 1000
    redis = _timed("redis", check_redis)
    objects = _timed("objects", check_objects)
    worker = _timed("worker", lambda: check_worker(redis.ok))
    return [database, migrations, redis, objects, worker]
