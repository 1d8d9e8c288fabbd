"""Objects as files under ``OBJECTS_DIR``, moved in and out through Trailhub.

Both signed URLs are this hub's ``/local-s3/<token>`` (revisions/storage/signing.py).
An upload streams to a temporary file in ``OBJECTS_DIR/tmp`` (the same
filesystem as the objects, so installing it is an atomic rename), counting
and hashing as it goes; it is kept only if exactly the announced size
arrived and the sha256 matches.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import BinaryIO

from django.core.files.storage import FileSystemStorage

from revisions.storage import signing
from revisions.storage.base import content_key, spool_verified

TMP_DIR = "tmp"


class FileSystemStore:
    uploads_bypass_server = False

    def __init__(self, storage: FileSystemStorage) -> None:
        self.root = Path(storage.location)

    # --- URLs -----------------------------------------------------------------
    def upload_url(self, request, grant: str, sha: str, size: int, expires: dt.datetime) -> str:
        return signing.upload_url(request, grant, sha, size, expires)

    def download_url(self, request, sha: str, expires: dt.datetime, filename: str = "") -> str:
        return signing.download_url(request, sha, expires, filename)

    # --- bytes ------------------------------------------------------------------
    def path(self, sha: str) -> Path:
        return self.root / content_key(sha)

    def open(self, sha: str, start: int = 0) -> BinaryIO:
        stream = open(self.path(sha), "rb")  # noqa: SIM115 - the caller closes it
        if start:
            stream.seek(start)
        return stream

    def exists(self, sha: str) -> bool:
        return self.path(sha).is_file()

    def delete(self, sha: str) -> None:
        self.path(sha).unlink(missing_ok=True)

    def receive(self, stream, size: int, sha: str) -> Path:
        tmp_dir = self.root / TMP_DIR
        tmp_dir.mkdir(parents=True, exist_ok=True)
        return spool_verified(stream, size, sha, tmp_dir)

    def fetch_staged(self, obj) -> None:
        return None  # uploads are verified as they arrive

    def install(self, upload: Path, sha: str) -> None:
        target = self.path(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(upload, target)

    def discard(self, upload: Path) -> None:
        Path(upload).unlink(missing_ok=True)

    def sweep_uploads(self, cutoff: dt.datetime, stale_grants) -> int:
        """Delete unfinished uploads last written before ``cutoff``.

        A temporary file is written to as long as its upload runs, so an old
        one belongs to an upload that died. Content files are never swept: a
        Blob row is removed with its bytes, under the row's lock.
        """
        tmp_dir = self.root / TMP_DIR
        if not tmp_dir.is_dir():
            return 0
        deleted = 0
        for entry in os.scandir(tmp_dir):
            if entry.is_file() and entry.stat().st_mtime < cutoff.timestamp():
                Path(entry.path).unlink(missing_ok=True)
                deleted += 1
        return deleted
