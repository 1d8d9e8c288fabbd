"""Test support: a PostgreSQL database of a test's own, for the tests that run the hub
as separate processes (a Celery worker, `make run`)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

#: The machine's PostgreSQL (trust authentication on loopback).
PG = "host=127.0.0.1 port=5432 user=postgres"


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new empty database named ``<prefix>_<random>``, dropped afterwards (connections
    left open by killed processes included)."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(f"{PG} dbname=postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(f"{PG} dbname=postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
