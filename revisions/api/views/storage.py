"""``/local-s3/<token>``: the hub's signed upload and download URLs.

The filesystem store hands them to everyone, the S3 store to devices (which
send only a signed URL's path, to their own hub). The token in the path, not
a bearer token, is the authorisation: pvr and devices send none to these
URLs, and Pantavisor drops any query (event/event_rest.c) or appends one
(updater.c sends everything from ``/local-s3`` on). The token, the method
and the Content-Length are checked before a byte of the body is read; an
upload is then read from the request stream chunk by chunk (never parsed,
never buffered whole: Pantavisor labels its raw bytes ``application/json``),
and a download is a streamed file or bucket object.
"""

from __future__ import annotations

import io
import logging
import re

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import metrics
from portal.api.docs import answer_example, error_response
from portal.errors import DomainError
from revisions import services
from revisions.api import examples
from revisions.api.views.common import file_response
from revisions.models import Blob
from revisions.storage import UploadRejected, get_store
from revisions.storage.base import attachment
from revisions.storage.signing import SignatureError, SignedRequest, check

log = logging.getLogger(__name__)
BYTES = {"application/octet-stream": OpenApiTypes.BINARY}
TOKEN = OpenApiParameter(
    "token", str, OpenApiParameter.PATH, description="the signed grant, as POST /objects/ gave it"
)


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


def signed(request, token: str) -> SignedRequest:
    """The grant of a request to ``/local-s3/<token>``, from its path and headers alone."""
    try:
        return check(token, request.method, request.META.get("CONTENT_LENGTH"))
    except SignatureError as exc:
        raise DomainError(str(exc), exc.code, exc.status) from None


class LocalS3View(APIView):
    """Signed URLs only: ``/local-s3/<token>`` as ``POST /objects/`` handed them out."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes: list = []  # the body is bytes to store, whatever its Content-Type

    def perform_content_negotiation(self, request, force=False):
        # A download may ask for any type; errors are JSON regardless.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        summary="Download an object's bytes (signed URL)",
        description=(
            "The bytes of the object a `signed-geturl` names; the grant is the token in"
            " the path, so no bearer token is needed (pvr and devices send none). One"
            " `Range: bytes=N-` or `bytes=N-M` is answered with a 206, so that an"
            " interrupted download resumes; a range past the end is a 416. An altered or"
            " expired URL, or one for PUT, is a 403; bytes not uploaded yet a 404."
            " Compatibility: Pantavisor sends only the URL's path, to its own hub, and"
            " drops any query, which is why the grant is in the path."
        ),
        parameters=[TOKEN],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (206, "application/octet-stream"): OpenApiTypes.BINARY,
            **error_response(
                "altered, expired or for another method",
                403,
                "expired",
                "this object URL has expired; ask for a new one",
            ),
            416: OpenApiResponse(description="the Range starts past the end"),
        },
    )
    def get(self, request, token):
        grant = signed(request, token)
        sha = grant.sha
        blob = Blob.objects.filter(sha256=sha).only("size").first()
        if blob is None:
            raise DomainError("this object's bytes have not been uploaded yet", "not-found", 404)
        # One "bytes=N-" or "bytes=N-M" range, as S3 answers it, so that an
        # interrupted download resumes instead of starting over.
        start, end = _byte_range(request.headers.get("Range", ""), blob.size)
        if start is not None and start >= blob.size:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{blob.size}"
            return response
        first, last = start or 0, blob.size - 1 if end is None else end
        stream = get_store().open(sha, first)
        # Only a real file goes to the server whole (sendfile); a bucket's body is streamed.
        whole = start is None and isinstance(stream, io.BufferedReader)
        response = file_response(
            request, stream, last - first + 1, whole, 200 if start is None else 206
        )
        if start is not None:
            response["Content-Range"] = f"bytes {first}-{last}/{blob.size}"
        metrics.BYTES_OUT.inc(last - first + 1)
        if grant.filename:  # a download from the portal, saved under its file's name
            response["Content-Disposition"] = attachment(grant.filename)
        response["Accept-Ranges"] = "bytes"
        response["Cache-Control"] = "private, max-age=3600, immutable"
        return response

    @extend_schema(
        summary="Upload an object's bytes (signed URL)",
        description=(
            "The raw bytes of the object a `signed-puturl` names, the grant being the"
            " token in the path (no bearer token). They are kept only once exactly the"
            " signed size arrived with the signed sha256: a Content-Length over the size"
            " is a 413 before anything is read, a wrong size or sha256 a 400 and nothing is"
            " kept, an altered or expired URL a 403, an upload that stalled too long a 408."
            " Sending the bytes of an object already stored again changes nothing."
            " Compatibility: Pantavisor PUTs over HTTP/1.0 with `Content-Type:"
            " application/json` and raw bytes: the body is never parsed."
        ),
        parameters=[TOKEN],
        request=BYTES,
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="stored",
                examples=[
                    answer_example(
                        {"sha256sum": examples.KERNEL_SHA, "size": "9437696", "status": "stored"}
                    )
                ],
            ),
            400: OpenApiResponse(description="wrong size or sha256; nothing was kept"),
            403: OpenApiResponse(description="altered, expired or for another method"),
            413: OpenApiResponse(description="Content-Length over the signed size"),
        },
    )
    def put(self, request, token):
        grant = signed(request, token)
        raw = request._request
        length = raw.META.get("CONTENT_LENGTH") or ""
        try:
            obj = services.receive_upload(
                grant.grant, grant.sha, grant.size, raw, int(length) if length.isdigit() else None
            )
        except UploadRejected as exc:
            status = 404 if exc.code == "grant-gone" else 400
            raise DomainError(
                f"upload refused, nothing was kept: {exc}", exc.code, status
            ) from None
        except FileNotFoundError:  # the temporary file was swept while the upload stalled
            log.warning("upload of %s lost its temporary file", grant.sha)
            raise DomainError(
                "the upload took too long; ask for a new URL", "upload-expired", 408
            ) from None
        metrics.BYTES_IN.inc(obj.size)
        return Response({"sha256sum": obj.sha256, "size": str(obj.size), "status": "stored"})
