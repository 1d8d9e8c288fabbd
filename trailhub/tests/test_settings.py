"""Settings are chosen from the environment; a bad value stops the start, naming it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; from django.conf import settings; django.setup(); print(json.dumps({"
    "'db': settings.DATABASES['default']['ENGINE'],"
    "'layer': settings.CHANNEL_LAYERS['default']['BACKEND'],"
    "'cache': settings.CACHES['default']['BACKEND'],"
    "'eager': settings.CELERY_TASK_ALWAYS_EAGER,"
    "'objects': settings.STORAGES['objects']['BACKEND'],"
    "'debug': settings.DEBUG}))"
)


def run_settings(tmp_path, **env):
    clean = {k: v for k, v in os.environ.items() if k not in _ALL_VARS}
    clean.update(DJANGO_SETTINGS_MODULE="trailhub.settings", TRAILHUB_VAR_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True
    )


_ALL_VARS = {
    "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "OBJECTS_BACKEND", "S3_BUCKET",
    "CELERY_BROKER_URL", "JWT_TTL", "TRUSTED_PROXIES", "LOGIN_THROTTLE_RATE",
    "LOGIN_ACCOUNT_THROTTLE_RATE", "LOG_LEVEL", "LOG_FORMAT",
}  # fmt: skip


def test_it_runs_embedded_with_nothing_set(tmp_path):
    result = run_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "db": "django.db.backends.sqlite3",
        "layer": "trailhub.layers.InMemoryChannelLayer",
        "cache": "django.core.cache.backends.locmem.LocMemCache",
        "eager": True,
        "objects": "django.core.files.storage.FileSystemStorage",
        "debug": False,
    }
    # The embedded secret key is made per machine, not committed.
    assert len((tmp_path / "secret_key").read_text()) >= 50


def test_it_uses_postgres_redis_and_s3_when_configured(tmp_path):
    result = run_settings(
        tmp_path,
        DATABASE_URL="postgres://trailhub@127.0.0.1:5432/trailhub",
        REDIS_URL="redis://127.0.0.1:6379/0",
        SECRET_KEY="x" * 40,
        S3_BUCKET="objects",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "db": "django.db.backends.postgresql",
        "layer": "trailhub.layers.RedisChannelLayer",
        "cache": "trailhub.cache.RedisCache",
        "eager": False,
        "objects": "storages.backends.s3.S3Storage",
        "debug": False,
    }


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DATABASE_URL": "postgres://x@127.0.0.1/db"}, "SECRET_KEY"),
        ({"DATABASE_URL": "mongodb://x/y", "SECRET_KEY": "x" * 40}, "DATABASE_URL"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"JWT_TTL": "soon"}, "JWT_TTL"),
        ({"OBJECTS_BACKEND": "s3"}, "S3_BUCKET"),
        ({"OBJECTS_BACKEND": "ftp"}, "OBJECTS_BACKEND"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"TRUSTED_PROXIES": "-1"}, "TRUSTED_PROXIES"),
        ({"LOGIN_THROTTLE_RATE": "ten/min"}, "LOGIN_THROTTLE_RATE"),
        ({"LOGIN_ACCOUNT_THROTTLE_RATE": "100/fortnight"}, "LOGIN_ACCOUNT_THROTTLE_RATE"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
    ],
)
def test_a_wrong_setting_stops_the_start_naming_the_variable(tmp_path, env, named):
    result = run_settings(tmp_path, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr.strip().splitlines()[-1]


def test_it_keeps_database_connections_as_long_as_told(tmp_path):
    base = {"DATABASE_URL": "postgres://x@127.0.0.1/db", "SECRET_KEY": "x" * 40}
    probe = "from django.conf import settings; print(settings.DATABASES['default']['CONN_MAX_AGE'])"
    for env, expected in (({}, "60"), ({"DATABASE_CONN_MAX_AGE": "0"}, "0")):
        clean = {k: v for k, v in os.environ.items() if k not in _ALL_VARS}
        clean.update(DJANGO_SETTINGS_MODULE="trailhub.settings", TRAILHUB_VAR_DIR=str(tmp_path))
        result = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=ROOT,
            env={**clean, **base, **env},
            capture_output=True,
            text=True,
        )
        assert result.stdout.strip() == expected, result.stderr
    wrong = run_settings(tmp_path, **base, DATABASE_CONN_MAX_AGE="forever")
    assert "DATABASE_CONN_MAX_AGE" in wrong.stderr.strip().splitlines()[-1]
