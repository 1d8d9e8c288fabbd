"""Objects in an S3 bucket; people get the bucket's presigned URLs, devices hub paths.

A device sends only the path of a signed URL, to its own hub (Pantavisor's
event/event_rest.c and updater.c), so a device is handed this hub's
``/local-s3/<token>`` URLs (revisions/storage/signing.py): its download is
streamed from the bucket through Trailhub, and its upload is received and
verified by Trailhub like the filesystem store's (:meth:`S3Store.receive`),
then stored under the content key.

People (pvr, ``trail``) get presigned URLs, so their bytes never pass through
Trailhub, which cannot check them as they arrive.
Instead, a grant's presigned PUT writes to its own staging key
(``uploads/<grant id>``), never to the shared content key — an owner who
does not have the bytes of a sha cannot overwrite anyone's copy. The next
time Trailhub needs the object (asking for it again, posting a state that
names it, listing a step's objects) it looks at the staging key: the size
must match (HEAD), then the sha256 (one streamed read of the bytes); only a
verified upload is copied, server-side, to ``<sha[:2]>/<sha>``, and only if
the staged bytes are still the ones that were hashed (``CopySourceIfMatch``
on their ETag). A staged upload that does not match is deleted.

The cost is one read of each uploaded object by Trailhub. S3's own checksum
headers (``x-amz-checksum-sha256``) would avoid it, but they must be sent by
the uploader, which Pantavisor and pvr do not do, and Swift's s3api ignores
them; a presigned (query-signed) URL always has an unsigned payload.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from pathlib import Path

from botocore.exceptions import ClientError
from django.conf import settings
from django.utils import timezone

from portal.auth import device_of
from revisions.storage import signing
from revisions.storage.base import (
    CHUNK_SIZE,
    UploadRejected,
    attachment,
    content_key,
    spool_verified,
)

log = logging.getLogger(__name__)
STAGING = "uploads/"


def _missing(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


class S3Store:
    uploads_bypass_server = True

    def __init__(self, storage) -> None:
        self.bucket = storage.bucket_name
        self.client = storage.connection.meta.client
        self.prefix = f"{storage.location.strip('/')}/" if storage.location else ""

    def key(self, sha: str) -> str:
        return self.prefix + content_key(sha)

    def staging_key(self, grant_id: str) -> str:
        return f"{self.prefix}{STAGING}{grant_id}"

    @staticmethod
    def _ttl(expires: dt.datetime) -> int:
        return max(1, int((expires - timezone.now()).total_seconds()))

    # --- URLs -----------------------------------------------------------------
    def upload_url(self, request, grant: str, sha: str, size: int, expires: dt.datetime) -> str:
        if device_of(request.user) is not None:
            return signing.upload_url(request, grant, sha, size, expires)
        return self.client.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": self.staging_key(grant)},
            ExpiresIn=self._ttl(expires),
            HttpMethod="PUT",
        )

    def download_url(self, request, sha: str, expires: dt.datetime, filename: str = "") -> str:
        if device_of(request.user) is not None:
            return signing.download_url(request, sha, expires, filename)
        params = {"Bucket": self.bucket, "Key": self.key(sha)}
        if filename:  # the bucket answers with this header (response-content-disposition)
            params["ResponseContentDisposition"] = attachment(filename)
        return self.client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=self._ttl(expires)
        )

    # --- bytes ------------------------------------------------------------------
    def open(self, sha: str, start: int = 0):
        extra = {"Range": f"bytes={start}-"} if start else {}
        return self.client.get_object(Bucket=self.bucket, Key=self.key(sha), **extra)["Body"]

    def receive(self, stream, size: int, sha: str) -> Path:
        """A device's upload through the hub: verified while it spools to a local file."""
        return spool_verified(stream, size, sha, settings.FILE_UPLOAD_TEMP_DIR)

    def _head(self, key: str) -> dict | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                return None
            raise

    def exists(self, sha: str) -> bool:
        return self._head(self.key(sha)) is not None

    def delete(self, sha: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(sha))

    def fetch_staged(self, obj) -> tuple[str, str] | None:
        key = self.staging_key(obj.id)
        head = self._head(key)
        if head is None:
            return None
        if head["ContentLength"] != obj.size:
            log.info(
                "staged upload %s: %s bytes, not %s; deleted", key, head["ContentLength"], obj.size
            )
            self.client.delete_object(Bucket=self.bucket, Key=key)
            return None
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        digest = hashlib.sha256()
        body = response["Body"]
        try:
            for chunk in iter(lambda: body.read(CHUNK_SIZE), b""):
                digest.update(chunk)
        finally:
            body.close()
        if digest.hexdigest() != obj.sha256:
            log.info(
                "staged upload %s: sha256 %s, not %s; deleted", key, digest.hexdigest(), obj.sha256
            )
            self.client.delete_object(Bucket=self.bucket, Key=key)
            return None
        return key, response["ETag"]

    def install(self, upload: tuple[str, str] | Path, sha: str) -> None:
        if isinstance(upload, Path):  # received and verified by the hub
            self.client.upload_file(str(upload), self.bucket, self.key(sha))
            return
        key, etag = upload
        # Copy only the bytes that were hashed: a PUT that replaced them since
        # makes the copy fail instead of publishing unverified content.
        try:
            self.client.copy(
                {"Bucket": self.bucket, "Key": key},
                self.bucket,
                self.key(sha),
                ExtraArgs={"CopySourceIfMatch": etag},
            )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("412", "PreconditionFailed") or _missing(exc):
                raise UploadRejected(
                    "upload-changed", "the upload changed while it was verified; upload it again"
                ) from None
            raise

    def discard(self, upload: tuple[str, str] | Path) -> None:
        if isinstance(upload, Path):
            upload.unlink(missing_ok=True)
        else:
            self.client.delete_object(Bucket=self.bucket, Key=upload[0])

    def sweep_uploads(self, cutoff: dt.datetime, stale_grants) -> int:
        old: dict[str, str] = {}
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + STAGING):
            for item in page.get("Contents", []):
                if item["LastModified"] < cutoff:
                    old[item["Key"].rsplit("/", 1)[-1]] = item["Key"]
        deleted = 0
        # Only a grant that is gone or old has no valid URL left that could
        # be writing to its staging key right now.
        for grant in stale_grants(list(old)):
            self.client.delete_object(Bucket=self.bucket, Key=old[grant])
            deleted += 1
        return deleted
