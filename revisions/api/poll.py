"""A device's poll of its own trail, answered from the cache while nothing changed.

``GET /trails/<id>/steps`` by the device itself is the hottest request there
is: every device, every few seconds, and nearly always the same answer. The
answer is cached per device (its body, its ETag) together with the trail's
*version*, a token replaced after every commit that changes one of the
trail's revisions or the device (:func:`revisions.pollcache.changed`). A poll is answered from
the cache alone, without the database, when

* its token is a valid device token for this very trail, and
* the cached answer carries the current version;

with a 304 when ``If-None-Match`` names its ETag, else with the cached body.
Its presence is noted as any device request's is (devices/presence.py: in
memory, written in batches). With Redis, each process also keeps the answers
it served in memory until they change (poll_memo.py), so that most polls
cost no round trip at all.
Anything else goes to the full view, which stores the fresh answer. The
version is read before the database is, so an answer computed while a
change commits is stored under the old version and never served. While
Redis cannot be reached (restarting, failing over), every poll is answered
from the database and nothing is stored.
"""

from __future__ import annotations

import contextlib
import hashlib
from urllib.parse import parse_qsl

from django.core.cache import cache
from django.http import HttpResponse, HttpResponseNotModified
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer

from devices import presence
from portal import metrics
from portal.auth import decode_token
from portal.errors import DomainError
from revisions import poll_memo
from revisions.api.views.common import status_filter
from revisions.pollcache import ANSWER_TTL, CACHE_DOWN, answer_key, version_key
from trail import status as st
from trail.wire import DEVICE_PRN_PREFIX


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def answer(request, device_id: str, data, current: str | None) -> HttpResponse:
    """The full view's answer for the device, stored for the polls to come under the
    trail's version ``current`` (None: the cache is unreachable, nothing is stored)."""
    body = JSONRenderer().render(data)
    etag = etag_of(body)
    if current is not None:
        with contextlib.suppress(*CACHE_DOWN):  # the next poll reads the database again
            cache.set(answer_key(device_id), (current, etag, body), ANSWER_TTL)
    return _respond(request, etag, body)


def _respond(request, etag: str, body: bytes) -> HttpResponse:
    if request.META.get("HTTP_IF_NONE_MATCH") == etag:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response


def _device_id(request, ref: str) -> str | None:
    """The device id of a valid device token that names trail ``ref``, or None."""
    scheme, _, raw = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() not in ("bearer", "jwt") or not raw:
        return None
    try:
        token = decode_token(raw.strip())
    except exceptions.AuthenticationFailed:
        return None
    prn = token.claims["prn"]
    if token.type != "DEVICE" or not prn.startswith(DEVICE_PRN_PREFIX):
        return None
    device_id = prn.removeprefix(DEVICE_PRN_PREFIX)
    return device_id if ref in (device_id, prn) else None


#: Set in ``request.META`` (the WSGI environ) on a poll answered from the cache, so
#: that the pre-dispatcher in front of Django (trailhub/fastpoll.py) learns the
#: headers Django's middleware put on such an answer.
FROM_CACHE = "trailhub.poll_from_cache"


def device_query(query_string: str) -> bool:
    """Whether a device's poll with this query asks what the plain poll answers: no query,
    or only ``progress.status`` naming exactly the pending statuses, as Pantavisor sends it
    every cycle (pantavisor pantahub/pantahub_proto.c:58-59, QUERY_PENDING_STEPS)."""
    if not query_string:
        return True
    params = parse_qsl(query_string, keep_blank_values=True)
    if len(params) != 1 or params[0][0] != "progress.status":
        return False
    try:
        statuses = status_filter(params[0][1])
    except (DomainError, ValueError, RecursionError):
        return False
    return frozenset(statuses) == st.PENDING


def kept_answer(request, ref: str) -> tuple[str, str, str, bytes] | None:
    """``(device id, source, etag, body)`` of the cached answer to this poll, or None when
    the full view must answer; ``source`` is "memory" or "cache". Nothing is counted or
    noted yet (:func:`served`): a caller that finds it cannot answer leaves no trace."""
    if request.method != "GET" or not device_query(request.META.get("QUERY_STRING", "")):
        return None
    device_id = _device_id(request, ref)
    if device_id is None:
        return None
    memo = poll_memo.memo()
    kept = memo.get(device_id) if memo is not None else None
    if kept is not None:
        return device_id, "memory", *kept
    generation = memo.generation(device_id) if memo is not None else 0
    keys = [version_key(device_id), answer_key(device_id)]
    try:
        found = cache.get_many(keys)
    except CACHE_DOWN:
        return None  # the view answers from the database
    current, stored = found.get(keys[0]), found.get(keys[1])
    if current is None or stored is None or stored[0] != current:
        return None  # the view answers, and counts the poll
    if memo is not None:
        memo.keep(device_id, generation, *stored[1:])
    return device_id, "cache", *stored[1:]


def served(device_id: str, source: str) -> None:
    """A poll of the device was answered from ``source``: counted, and its presence noted
    as any device request's is."""
    (metrics.POLLS_FROM_MEMORY if source == "memory" else metrics.POLLS_FROM_CACHE).inc()
    presence.note(device_id)


def from_cache(request, ref: str) -> HttpResponse | None:
    """The cached answer to this poll, or None when the full view must answer."""
    found = kept_answer(request, ref)
    if found is None:
        return None
    device_id, source, etag, body = found
    served(device_id, source)
    request.META[FROM_CACHE] = True
    return _respond(request, etag, body)


def cached(view):
    """``view`` (the steps list), with device polls answered from the cache first."""

    def poll(request, ref):
        return from_cache(request, ref) or view(request, ref=ref)

    poll.view_class = getattr(view, "view_class", None)
    poll.cls = getattr(view, "cls", None)
    poll.initkwargs = getattr(view, "initkwargs", {})
    return csrf_exempt(poll)
