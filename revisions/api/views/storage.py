"""``/objects/_storage/<sha>``: the filesystem store's signed upload and download URLs.

An upload is read from the request stream chunk by chunk (never buffered
whole), and a download is a streamed file. The signature, not a token, is
the authorisation: pvr and devices send none to these URLs.
"""

from __future__ import annotations

import logging
import re

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.errors import APIError
from revisions import services
from revisions.api.views.common import SHA, file_response
from revisions.models import Blob
from revisions.storage import UploadRejected, get_store
from revisions.storage.base import SHA256_RE
from revisions.storage.signing import SignatureError, verify

log = logging.getLogger(__name__)
BYTES = {"application/octet-stream": OpenApiTypes.BINARY}


_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


def _byte_range(header: str, size: int) -> tuple[int | None, int | None]:
    """``(start, end)`` of a single-range ``Range`` header (end None: to the end);
    ``(None, None)`` when there is none or it is a kind we answer in full."""
    match = _RANGE.fullmatch(header.strip())
    if not match:
        return None, None
    start = int(match.group(1))
    end = int(match.group(2)) if match.group(2) else None
    if end is not None and end < start:
        return None, None  # not a valid range: ignore it
    if end is not None and end >= size:
        end = None  # past the end means to the end
    return start, end


class ObjectStorageView(APIView):
    """Signed URLs only: ``?op=…&exp=…&sig=…`` as ``POST /objects/`` handed them out."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def perform_content_negotiation(self, request, force=False):
        # A download may ask for any type; errors are JSON regardless.
        return super().perform_content_negotiation(request, force=True)

    def _signed(self, request, sha: str, op: str):
        if not SHA256_RE.match(sha):
            raise APIError("not an object URL", "not-found", 404)
        try:
            signed = verify(sha, request.query_params)
        except SignatureError as exc:
            raise APIError(str(exc), exc.code, 403) from None
        if signed.op != op:
            raise APIError(f"this URL is for {signed.op.upper()} only", "bad-signature", 403)
        return signed

    @extend_schema(
        parameters=[SHA],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (206, "application/octet-stream"): OpenApiTypes.BINARY,
            416: OpenApiResponse(description="the Range starts past the end"),
        },
    )
    def get(self, request, sha):
        self._signed(request, sha, "get")
        blob = Blob.objects.filter(sha256=sha).only("size").first()
        if blob is None:
            raise APIError("this object's bytes have not been uploaded yet", "not-found", 404)
        # One "bytes=N-" or "bytes=N-M" range, as S3 answers it, so that an
        # interrupted download resumes instead of starting over.
        start, end = _byte_range(request.headers.get("Range", ""), blob.size)
        if start is not None and start >= blob.size:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{blob.size}"
            return response
        stream = get_store().open(sha)
        first, last = start or 0, blob.size - 1 if end is None else end
        stream.seek(first)
        response = file_response(
            request, stream, last - first + 1, start is None, 200 if start is None else 206
        )
        if start is not None:
            response["Content-Range"] = f"bytes {first}-{last}/{blob.size}"
        response["Accept-Ranges"] = "bytes"
        response["Cache-Control"] = "private, max-age=3600, immutable"
        return response

    @extend_schema(
        parameters=[SHA],
        request=BYTES,
        responses={200: OpenApiResponse(description="stored"), 400: None, 403: None},
    )
    def put(self, request, sha):
        signed = self._signed(request, sha, "put")
        raw = request._request
        length = raw.META.get("CONTENT_LENGTH") or ""
        try:
            obj = services.receive_upload(
                signed.grant, sha, signed.size, raw, int(length) if length.isdigit() else None
            )
        except UploadRejected as exc:
            status = 404 if exc.code == "grant-gone" else 400
            raise APIError(f"upload refused, nothing was kept: {exc}", exc.code, status) from None
        except FileNotFoundError:  # the temporary file was swept while the upload stalled
            log.warning("upload of %s lost its temporary file", sha)
            raise APIError(
                "the upload took too long; ask for a new URL", "upload-expired", 408
            ) from None
        return Response({"sha256sum": obj.sha256, "size": str(obj.size), "status": "stored"})
