"""Objects as files under ``OBJECTS_DIR``, moved in and out through Trailhub.

An upload streams to a temporary file in ``OBJECTS_DIR/tmp`` (the same
filesystem as the objects, so installing it is an atomic rename), counting
and hashing as it goes; it is kept only if exactly the announced size
arrived and the sha256 matches.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from django.core.files.storage import FileSystemStorage
from django.urls import reverse

from revisions.storage import signing
from revisions.storage.base import CHUNK_SIZE, UploadRejected, content_key

TMP_DIR = "tmp"


class FileSystemStore:
    uploads_bypass_server = False

    def __init__(self, storage: FileSystemStorage) -> None:
        self.root = Path(storage.location)

    # --- URLs -----------------------------------------------------------------
    def _url(self, request, sha: str, query: str) -> str:
        path = reverse("object-storage", kwargs={"sha": sha})
        return request.build_absolute_uri(f"{path}?{query}")

    def upload_url(self, request, grant: str, sha: str, size: int, expires: dt.datetime) -> str:
        exp = int(expires.timestamp())
        return self._url(request, sha, signing.signed_query("put", sha, exp, grant, size))

    def download_url(self, request, sha: str, expires: dt.datetime) -> str:
        return self._url(request, sha, signing.signed_query("get", sha, int(expires.timestamp())))

    # --- bytes ------------------------------------------------------------------
    def path(self, sha: str) -> Path:
        return self.root / content_key(sha)

    def open(self, sha: str) -> BinaryIO:
        return open(self.path(sha), "rb")

    def exists(self, sha: str) -> bool:
        return self.path(sha).is_file()

    def delete(self, sha: str) -> None:
        self.path(sha).unlink(missing_ok=True)

    def receive(self, stream, size: int, sha: str) -> Path:
        """Stream ``stream`` to a temporary file and return it if it is exactly ``size``
        bytes with sha256 ``sha``; otherwise remove it and raise UploadRejected."""
        tmp_dir = self.root / TMP_DIR
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=tmp_dir, prefix=f"{sha[:12]}-")
        path = Path(name)
        try:
            digest = hashlib.sha256()
            received = 0
            with os.fdopen(fd, "wb") as out:
                while True:
                    # Read one byte past the size, to tell "too many" from "exact".
                    chunk = stream.read(min(CHUNK_SIZE, size + 1 - received))
                    if not chunk:
                        break
                    received += len(chunk)
                    if received > size:
                        raise UploadRejected(
                            "size-mismatch", f"more than the announced {size} bytes arrived"
                        )
                    digest.update(chunk)
                    out.write(chunk)
            if received != size:
                raise UploadRejected(
                    "size-mismatch", f"{received} bytes arrived, the announced size is {size}"
                )
            if digest.hexdigest() != sha:
                raise UploadRejected(
                    "sha-mismatch",
                    f"the bytes' sha256 is {digest.hexdigest()}, not the announced {sha}",
                )
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path

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
