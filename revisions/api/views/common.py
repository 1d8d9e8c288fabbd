"""Helpers the revisions views share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import closing

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from portal.errors import DomainError
from portal.parsers import loads
from revisions.api.serializers import ObjectWithAccessSerializer
from revisions.services import ObjectView
from revisions.storage import get_store
from revisions.storage.base import CHUNK_SIZE
from trail import status as st

REF = OpenApiParameter("ref", str, OpenApiParameter.PATH, description="device id, prn or nick")
REV = OpenApiParameter("rev", int, OpenApiParameter.PATH, description="revision number")
SHA = OpenApiParameter("sha", str, OpenApiParameter.PATH, description="the object's sha256")


def status_filter(raw: str) -> list[str]:
    """``progress.status=``: a status, or ``{"$in": [...]}`` / ``{"$nin": [...]}`` / ``{"$ne": s}``.

    Returns the statuses to include.
    """
    raw = raw.strip()
    if raw.startswith("{"):
        try:
            query = loads(raw)
        except ValueError:
            query = None
        if not (isinstance(query, dict) and len(query) == 1):
            raise DomainError(
                'progress.status must be a status or {"$in": [...]}', code="bad-filter"
            )
        ((op, value),) = query.items()
        values = value if isinstance(value, list) else [value]
        if op not in ("$in", "$nin", "$ne", "$eq") or not all(isinstance(v, str) for v in values):
            raise DomainError(
                'progress.status must be a status or {"$in": [...]}', code="bad-filter"
            )
    else:
        op, values = "$eq", [raw]
    unknown = [v for v in values if v not in st.STATUSES]
    if unknown:
        raise DomainError(
            f"unknown status {unknown[0]!r}; expected one of {', '.join(st.STATUSES)}",
            code="unknown-status",
        )
    if op in ("$nin", "$ne"):
        return [s for s in st.STATUSES if s not in values]
    return values


def object_context(request) -> dict:
    """Serializer context that signs URLs for :class:`ObjectWithAccessSerializer`."""
    store = get_store()
    now = timezone.now()
    expires = now + dt.timedelta(seconds=settings.OBJECTS_URL_TTL)

    def urls(view: ObjectView) -> dict:
        put = (
            store.upload_url(request, view.grant, view.sha256, view.size, expires)
            if view.grant
            else ""
        )
        get = store.download_url(request, view.sha256, expires) if view.stored else ""
        return {"put": put, "get": get}

    return {"request": request, "urls": urls, "now": now, "expires": expires}


def object_answer(request, view: ObjectView, status: int = 200, headers=None) -> Response:
    data = ObjectWithAccessSerializer(view, context=object_context(request)).data
    return Response(data, status=status, headers=headers)


def is_asgi(request) -> bool:
    return isinstance(getattr(request, "_request", request), ASGIRequest)


def streamed(request, chunks: Iterator[bytes]):
    """``chunks`` in the form the server can send one at a time, for a StreamingHttpResponse.

    Django reads a synchronous iterator to its end before it sends a byte under
    ASGI (and an asynchronous one under WSGI): a gigabyte object would be held
    in memory whole. Under ASGI the chunks are therefore pulled one by one from
    a worker thread.
    """
    if not is_asgi(request):
        return chunks

    async def pull():
        try:
            while (
                chunk := await sync_to_async(next, thread_sensitive=False)(chunks, None)
            ) is not None:
                yield chunk
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    return pull()


def file_chunks(stream, length: int, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """``length`` bytes of ``stream`` from where it is, ``size`` at a time; closes it after."""
    with closing(stream):
        while length > 0:
            chunk = stream.read(min(size, length))
            if not chunk:
                raise OSError(f"the stored object ended {length} bytes early")
            length -= len(chunk)
            yield chunk


def file_response(request, stream, length: int, whole: bool, status: int = 200):
    """``length`` bytes of the open file ``stream`` from where it is, as a response.

    A whole file goes to a WSGI server as a file, which it sends with
    sendfile; under ASGI the bytes are pulled a megabyte at a time (a thread
    hop per chunk: bigger chunks, fewer hops).
    """
    kind = "application/octet-stream"
    if is_asgi(request):
        body = streamed(request, file_chunks(stream, length, 4 * CHUNK_SIZE))
        response = StreamingHttpResponse(body, status=status, content_type=kind)
    elif whole:
        response = FileResponse(stream, status=status, content_type=kind)
    else:
        response = StreamingHttpResponse(
            file_chunks(stream, length), status=status, content_type=kind
        )
    response["Content-Length"] = str(length)
    return response
