"""Content-addressed object storage: where the bytes of each sha256 live.

One store per deployment, chosen by ``STORAGES["objects"]``:

* :class:`~revisions.storage.filesystem.FileSystemStore` — bytes under
  ``OBJECTS_DIR``; uploads and downloads go through Trailhub at path-signed,
  expiring URLs (``/local-s3/<token>``, :mod:`revisions.storage.signing`), and
  an upload is verified (exact size, sha256) while it streams in
  (:func:`~revisions.storage.base.spool_verified`).
* :class:`~revisions.storage.s3.S3Store` — bytes in a bucket. Devices get the
  same ``/local-s3/`` URLs (their bytes go through Trailhub, verified the same
  way); people get the bucket's presigned URLs, so their bytes never pass
  through Trailhub: such an upload lands on a per-grant staging key and is
  verified (size, then sha256 by reading it back) before it is copied to its
  content key.

Either way the content key of a sha is :func:`content_key`, and a
:class:`~revisions.models.Blob` row exists only while verified bytes are there.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage, storages

from revisions.storage.base import BlobStore, UploadRejected, content_key

__all__ = ["BlobStore", "UploadRejected", "content_key", "get_store"]


def get_store() -> BlobStore:
    """The store for the configured ``STORAGES["objects"]`` backend."""
    storage = storages["objects"]
    if isinstance(storage, FileSystemStorage):
        from revisions.storage.filesystem import FileSystemStore

        return FileSystemStore(storage)
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # pragma: no cover - django-storages is a requirement
        S3Storage = None
    if S3Storage is not None and isinstance(storage, S3Storage):
        from revisions.storage.s3 import S3Store

        return S3Store(storage)
    raise ImproperlyConfigured(
        f'STORAGES["objects"] must be a FileSystemStorage or an S3Storage, not {type(storage)}'
    )
