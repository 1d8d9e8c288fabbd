"""What every object store offers, and the names they share."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from django.utils.http import content_disposition_header

if TYPE_CHECKING:
    from django.http import HttpRequest

    from revisions.models import OwnerObject

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
#: Bytes read or written at a time while streaming objects.
CHUNK_SIZE = 256 * 1024


def content_key(sha: str) -> str:
    """The storage name of a sha's bytes: ``ab/abcdef…`` (a fan-out keeps folders small)."""
    if not SHA256_RE.match(sha):
        raise ValueError(f"not a sha256: {sha!r}")
    return f"{sha[:2]}/{sha}"


def attachment(filename: str) -> str:
    """The ``Content-Disposition`` of bytes to save as ``filename`` (RFC 6266): a quoted
    ``filename="…"`` for printable ASCII, else ``filename*=utf-8''…`` percent-encoded, so
    that no name (quotes, control characters, line breaks) can end the header."""
    return content_disposition_header(True, filename) or "attachment"


class UploadRejected(Exception):
    """An upload whose bytes are not what was announced; nothing of it is kept.

    ``code`` is ``size-mismatch`` or ``sha-mismatch``.
    """

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def spool_verified(stream, size: int, sha: str, directory: Path | str | None = None) -> Path:
    """Copy ``stream`` to a temporary file in ``directory``, counting and hashing as it goes.

    Return the file if exactly ``size`` bytes arrived and their sha256 is
    ``sha``; otherwise remove it and raise UploadRejected. At most one byte
    more than ``size`` is read, so an oversized body is never spooled whole.
    """
    fd, name = tempfile.mkstemp(dir=directory, prefix=f"{sha[:12]}-")
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


class BlobStore(Protocol):
    """Where the hub keeps the bytes of its Blobs: the operations the services need.

    (The clients' local object cache is another thing: ``trail.objects.ObjectStore``.)
    """

    #: Whether the upload URL goes to the store itself (so Trailhub must look
    #: for the bytes later) rather than through Trailhub (verified on arrival).
    uploads_bypass_server: bool

    def upload_url(
        self, request: HttpRequest, grant: str, sha: str, size: int, expires: dt.datetime
    ) -> str:
        """A URL the grant's owner ``PUT``s exactly ``size`` bytes of ``sha`` to, until ``expires``.

        A device always gets a ``/local-s3/…`` URL of this hub: it sends only
        the path of a signed URL, to its own hub.
        """
        ...

    def download_url(
        self, request: HttpRequest, sha: str, expires: dt.datetime, filename: str = ""
    ) -> str:
        """A URL that ``GET``s the bytes of ``sha``, valid until ``expires`` (a device: a hub path).

        With ``filename``, the answer says to save them as that file
        (``Content-Disposition``: :func:`attachment`).
        """
        ...

    def open(self, sha: str, start: int = 0) -> BinaryIO:
        """A stream of the bytes of ``sha`` from byte ``start`` (``read(n)`` and ``close()``)."""
        ...

    def receive(self, stream, size: int, sha: str) -> object:
        """Take an upload to a ``/local-s3/`` URL: the verified bytes, ready for :meth:`install`
        (:func:`spool_verified` raises UploadRejected for anything else)."""
        ...

    def exists(self, sha: str) -> bool: ...

    def delete(self, sha: str) -> None:
        """Remove the bytes of ``sha``; nothing happens if they are already gone."""
        ...

    def fetch_staged(self, obj: OwnerObject) -> object | None:
        """A verified upload of ``obj`` waiting to be installed, or None.

        Stores that verify uploads on arrival always answer None; S3 looks at
        the grant's staging key, checks the size and the sha256, and deletes a
        staged upload that does not match.
        """
        ...

    def install(self, upload: Any, sha: str) -> None:  # what this store's upload gave
        """Make a verified upload the bytes of ``sha`` (called with the Blob row locked)."""
        ...

    def discard(self, upload: Any) -> None:
        """Forget an upload that was not installed (or was, but the bytes were there)."""
        ...

    def sweep_uploads(self, cutoff: dt.datetime, stale_grants) -> int:
        """Delete unfinished uploads older than ``cutoff``; ``stale_grants(ids)``
        returns which grant ids are gone or older than ``cutoff`` (so their URLs
        have expired). Return how many were deleted."""
        ...
