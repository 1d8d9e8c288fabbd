"""Backing up and restoring a hub: its database, then the bytes of every object it names.

The order is what makes a backup whole. Object bytes are written before the
Blob row that names them is committed, and only garbage collection deletes
them, so the bytes of every Blob row in a database snapshot are in the store
once the snapshot is taken. The snapshot comes first; the Blob rows *in it*
are then copied out of the store, each hashed against its sha256 on the way.
The other order (objects, then the database) would miss the bytes of every
object uploaded in between, and the restored rows would name bytes that
no longer exist.

A backup folder holds ``database.pgdump`` (``pg_dump --format=custom``) or
``database.sqlite3`` (SQLite's online backup), ``objects/<sha[:2]>/<sha>``,
and ``manifest.json``, written last: a folder without it is not a backup.
Objects go through the store's own API, so the same commands work with the
filesystem and with S3 (docs/operations.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from revisions.storage import get_store

FORMAT = 1
MANIFEST = "manifest.json"
CHUNK = 1024 * 1024


class BackupError(Exception):
    """The backup or restore cannot go on; the message says why."""


@dataclass
class Report:
    database: str
    objects: int = 0
    bytes: int = 0
    #: Blob rows of the snapshot whose bytes garbage collection deleted during the
    #: backup (objects no revision named): restore deletes these rows.
    missing: list[str] = field(default_factory=list)


def _engine() -> str:
    vendor = connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise BackupError(f"cannot back up a {vendor} database")
    return vendor


def _pg_env() -> tuple[list[str], dict]:
    """pg_dump/pg_restore connection arguments for the default database."""
    db = connection.settings_dict
    args = ["--dbname", db["NAME"]]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            args += [flag, str(db[key])]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return args, env


def _run(command: list[str], env: dict) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip() or done.returncode}")


def _snapshot_postgresql(target: Path) -> list[str]:
    """pg_dump of one snapshot, and the Blob shas of that same snapshot."""
    args, env = _pg_env()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        (snapshot,) = cursor.fetchone()
        _run(
            ["pg_dump", "--format=custom", "--no-owner", f"--snapshot={snapshot}"]
            + ["--file", str(target), *args],
            env,
        )
        cursor.execute("SELECT sha256 FROM revisions_blob ORDER BY sha256")
        return [row[0] for row in cursor.fetchall()]


def _snapshot_sqlite(target: Path) -> list[str]:
    """SQLite's online backup (a consistent copy while the hub runs), and its Blob shas."""
    source = sqlite3.connect(connection.settings_dict["NAME"])
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        return [row[0] for row in copy.execute("SELECT sha256 FROM revisions_blob ORDER BY 1")]
    finally:
        copy.close()
        source.close()


def _object_path(root: Path, sha: str) -> Path:
    return root / "objects" / sha[:2] / sha


def _copy_out(store, sha: str, target: Path) -> int | None:
    """Copy the bytes of ``sha`` to ``target``, checking their hash; None when gone."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    digest, size = hashlib.sha256(), 0
    try:
        stream = store.open(sha)
    except FileNotFoundError:
        return None
    except Exception as exc:  # S3's "no such key" is a ClientError
        if not store.exists(sha):
            return None
        raise BackupError(f"could not read object {sha}: {exc}") from exc
    with stream, open(partial, "wb") as out:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    if digest.hexdigest() != sha:
        partial.unlink()
        raise BackupError(f"the stored bytes of object {sha} do not match their sha256")
    partial.rename(target)
    return size


def backup(folder: Path) -> Report:
    """Back the hub up into ``folder`` (new or empty): the database, then its objects."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"{folder} is not empty: back up into a new folder")
    folder.mkdir(parents=True, exist_ok=True)
    engine = _engine()
    report = Report(database=engine)
    if engine == "postgresql":
        shas = _snapshot_postgresql(folder / "database.pgdump")
    else:
        shas = _snapshot_sqlite(folder / "database.sqlite3")
    store = get_store()
    for sha in shas:
        size = _copy_out(store, sha, _object_path(folder, sha))
        if size is None:
            report.missing.append(sha)
        else:
            report.objects += 1
            report.bytes += size
    manifest = {
        "format": FORMAT,
        "created": timezone.now().isoformat(),
        "database": engine,
        "objects": report.objects,
        "bytes": report.bytes,
        "missing": report.missing,
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return report


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise BackupError(f"{folder} holds no {MANIFEST}: not a finished backup")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    return manifest


def _database_is_empty() -> bool:
    return not connection.introspection.table_names()


def restore(folder: Path) -> Report:
    """Restore ``folder`` into this hub's (empty) database and its object store."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    engine = _engine()
    if manifest["database"] != engine:
        raise BackupError(
            f"the backup is of a {manifest['database']} database; this hub uses {engine}"
        )
    if not _database_is_empty():
        raise BackupError(
            "the database is not empty: restore into a new database (before `migrate`)"
        )
    report = Report(database=engine)
    # Objects first: a restored row must never name bytes that are not there yet.
    store = get_store()
    for path in sorted((folder / "objects").glob("*/*")):
        sha = path.name
        if store.exists(sha):
            continue
        size = path.stat().st_size
        with open(path, "rb") as stream:
            upload = store.receive(stream, size, sha)  # refuses bytes that do not match
        store.install(upload, sha)
        report.objects += 1
        report.bytes += size
    if engine == "postgresql":
        args, env = _pg_env()
        connection.close()
        _run(
            ["pg_restore", "--no-owner", "--exit-on-error", *args, str(folder / "database.pgdump")],
            env,
        )
    else:
        connection.close()
        source = sqlite3.connect(folder / "database.sqlite3")
        target = sqlite3.connect(connection.settings_dict["NAME"])
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    _after_restore(manifest["missing"])
    return report


def _after_restore(missing: list[str]) -> None:
    """Drop the rows of bytes garbage collection took during the backup, and make every
    device's next poll read the restored database instead of an answer cached before."""
    from devices.models import Device
    from revisions import pollcache
    from revisions.models import Blob

    Blob.objects.filter(sha256__in=missing).delete()
    for device_id in Device.objects.values_list("id", flat=True).iterator():
        pollcache.changed(device_id)
