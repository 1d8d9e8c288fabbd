"""The HTTP client both ``trail`` and ``trail-agent`` talk to a hub with.

One :class:`Hub` is one identity (a person or a device) on one hub. Many hubs
may share one ``httpx.AsyncClient`` so that thousands of simulated devices
share one connection pool. The client

* sends the bearer token, and on a 401 logs in again through the ``ph-aeps``
  endpoint that the answer names (the way ``pvr`` does), then repeats the
  request once;
* retries connection failures, 429 and 5xx answers with exponential backoff
  and jitter (a request that may not be repeated safely is retried only when
  it never reached the server);
* turns every other failure into a :class:`HubError` whose message a person
  can act on: the server's ``error`` text, or what went wrong on the way.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from trail import wire

log = logging.getLogger("trail.client")

# httpcore asks the socket for 64 KiB at a time, and each piece then climbs
# through h11, anyio and httpx; for the gigabytes of a clone that climb cost
# more CPU than hashing the bytes. asyncio's transport reads up to 256 KiB at
# once; reading as much as it holds quarters the climbs. (A class attribute of
# httpcore's public HTTP/1.1 connection, in the httpcore that the pinned httpx
# brings; trail/tests/test_client.py fails if it stops being read.)
READ_SIZE = 256 * 1024
httpcore.AsyncHTTP11Connection.READ_NUM_BYTES = max(
    READ_SIZE, httpcore.AsyncHTTP11Connection.READ_NUM_BYTES
)

#: Asked for credentials when a login is needed: ``(aeps_url) -> (username, password)``.
Credentials = Callable[[str], Awaitable[tuple[str, str]]]

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Failures that happen before a request reaches the server: always safe to retry.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)


class HubError(Exception):
    """A request that failed for good: ``status`` is the HTTP status (None when
    the hub could not be reached) and ``code`` the server's error code."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Retry:
    """How long to keep trying: ``attempts`` tries in all (None: forever), with
    waits doubling from ``base`` up to ``cap`` seconds, each with jitter."""

    attempts: int | None = 6
    base: float = 0.5
    cap: float = 10.0

    def delay(self, attempt: int) -> float:
        """The wait before try ``attempt + 1`` (``attempt`` counts from 1)."""
        ceiling = min(self.cap, self.base * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    def gives_up_after(self, attempt: int) -> bool:
        return self.attempts is not None and attempt >= self.attempts


def token_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT, read without verifying it (the hub verifies)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def new_http(max_connections: int = 20, timeout: float = 30.0) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` configured for hubs; share one per process."""
    return httpx.AsyncClient(
        # No limit on waiting for a free connection: the requests have their own timeouts.
        timeout=httpx.Timeout(timeout, connect=10.0, pool=None),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        headers={"User-Agent": f"trail/{_version()}"},
        follow_redirects=False,
    )


class Hub:
    """One identity on one hub.

    ``credentials`` is called when the hub answers 401 (or there is no token
    yet); ``on_token`` is told about every new token, so the caller can keep it.
    """

    def __init__(
        self,
        url: str,
        *,
        http: httpx.AsyncClient,
        token: str | None = None,
        credentials: Credentials | None = None,
        on_token: Callable[[str], None] | None = None,
        retry: Retry = Retry(),
        gate: asyncio.Semaphore | None = None,
    ) -> None:
        self.url = normalize_url(url)
        # Shared by the hubs of one process: requests wait here, where waiting
        # is cheap, rather than in httpx's pool, whose cost grows with its queue.
        self.gate = gate or contextlib.nullcontext()
        self.http = http
        self.token = token
        self.credentials = credentials
        self.on_token = on_token
        self.retry = retry
        self._login_lock = asyncio.Lock()

    # --- requests ----------------------------------------------------------

    def absolute(self, path_or_url: str) -> str:
        """``path_or_url`` resolved against the hub (signed URLs may be either)."""
        if path_or_url.startswith("/") and not path_or_url.startswith("//"):
            return self.url + path_or_url  # the hot path: no URL parsing
        return str(httpx.URL(self.url + "/").join(path_or_url))

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
        ok: Iterable[int] = (),
        retry: Retry | None = None,
    ) -> httpx.Response:
        """Send a request and return its answer if it is a 2xx or in ``ok``.

        Without a token the request goes out anonymously (public devices need
        none); a 401 then asks for a login. Raises :class:`HubError` for
        anything else, after retries.
        """
        ok = set(ok)
        retry = retry or self.retry
        url = self.absolute(path)
        relogged = False
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self.gate:
                    response = await self.http.request(
                        method, url, json=json, params=params, headers=self._headers(headers, auth)
                    )
            except httpx.HTTPError as exc:
                repeatable = method in IDEMPOTENT or isinstance(exc, NOT_SENT)
                if not repeatable or retry.gives_up_after(attempt):
                    raise HubError(f"cannot reach {self.url}: {_describe(exc)}") from exc
                wait = retry.delay(attempt)
                log.info("%s %s: %s; retrying in %.1fs", method, path, _describe(exc), wait)
                await asyncio.sleep(wait)
                continue
            status = response.status_code
            if status in ok or 200 <= status < 300:
                return response
            if status == 401 and auth and not relogged and self.credentials is not None:
                relogged = True
                await self.login(aeps_of(response) or self.url + "/auth", stale=self.token)
                continue
            repeatable = method in IDEMPOTENT or status in (429, 503)
            if status in RETRY_STATUSES and repeatable and not retry.gives_up_after(attempt):
                wait = _retry_after(response) or retry.delay(attempt)
                log.info("%s %s: HTTP %s; retrying in %.1fs", method, path, status, wait)
                await asyncio.sleep(wait)
                continue
            raise error_of(response)

    async def get_json(self, path: str, **kwargs: Any) -> Any:
        return json_of(await self.request("GET", path, **kwargs))

    async def send_json(self, method: str, path: str, body: Any, **kwargs: Any) -> Any:
        return json_of(await self.request(method, path, json=body, **kwargs))

    def _headers(self, extra: dict[str, str] | None, auth: bool) -> dict[str, str]:
        headers = dict(extra or {})
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    # --- login ---------------------------------------------------------------

    async def login(self, aeps: str | None = None, stale: str | None = None) -> str:
        """Log in through ``aeps`` (the hub's ``/auth`` by default) and keep the token.

        Concurrent callers share one login: whoever comes second sees that the
        token changed since it failed (``stale``) and uses the new one.
        """
        async with self._login_lock:
            if self.token is not None and self.token != stale:
                return self.token
            if self.credentials is None:
                raise HubError(f"not logged in to {self.url}", status=401, code="not-logged-in")
            aeps = aeps or self.url + "/auth"
            username, password = await self.credentials(aeps)
            token = await self.password_login(username, password, aeps)
            return token

    async def password_login(self, username: str, password: str, aeps: str | None = None) -> str:
        """``POST <aeps>/login`` with a username (or device prn) and password."""
        url = (aeps or self.url + "/auth").rstrip("/") + "/login"
        response = await self.request(
            "POST",
            url,
            json={"username": username, "password": password},
            auth=False,
        )
        token: str = json_of(response)["token"]
        self._set_token(token)
        return token

    async def refresh(self) -> str:
        """Swap a still-valid token for a fresh one (``GET /auth/login``)."""
        token: str = (await self.get_json("/auth/login"))["token"]
        self._set_token(token)
        return token

    async def refresh_if_expiring(self, within: float = 600.0) -> None:
        """Refresh the token when it expires within ``within`` seconds; best effort."""
        exp = token_expiry(self.token) if self.token else None
        if exp is not None and time.time() < exp < time.time() + within:
            try:
                await self.refresh()
            except HubError as exc:
                log.info("could not refresh the token: %s", exc)

    def _set_token(self, token: str) -> None:
        self.token = token
        if self.on_token is not None:
            self.on_token(token)


def normalize_url(url: str) -> str:
    """A hub URL without a trailing slash, with ``http://`` when no scheme is given."""
    url = url.strip()
    if not url:
        raise HubError("no hub URL given: use --hub URL or set TRAIL_HUB")
    if "://" not in url:
        url = "http://" + url
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise HubError(f"not a hub URL: {url!r} (expected http://host[:port])")
    return url.rstrip("/")


def aeps_of(response: httpx.Response) -> str | None:
    """The login endpoint a 401 answer names in ``WWW-Authenticate``."""
    return wire.aeps_of(response.headers.get("WWW-Authenticate", ""))


def error_of(response: httpx.Response) -> HubError:
    """A :class:`HubError` with the server's own message when it sent one."""
    status = response.status_code
    code = None
    message = None
    try:
        body = response.json()
        if isinstance(body, dict):
            message = body.get("error") or body.get("detail")
            code = body.get("code")
    except ValueError:
        pass
    if not message:
        text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
        message = text or response.reason_phrase or "no reason given"
    request = response.request
    where = f"{request.method} {request.url.path}"
    return HubError(f"{where}: HTTP {status}: {message}", status=status, code=code)


def json_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise HubError(
            f"{response.request.method} {response.request.url.path}: the hub answered "
            f"HTTP {response.status_code} with something that is not JSON",
            status=response.status_code,
        ) from None


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return min(60.0, max(0.0, float(response.headers["Retry-After"])))
    except (KeyError, ValueError):
        return None


def _describe(exc: httpx.HTTPError) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _version() -> str:
    from trail import __version__

    return __version__
