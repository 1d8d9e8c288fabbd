"""Pulling from a registry over the HTTP API v2 (distribution spec).

Anonymous pulls and the token flow that Docker Hub, GitLab, Harbor and
``docker-registry`` with ``auth: token`` use: a 401 names a Bearer ``realm``
(plus ``service`` and ``scope``); the client asks the realm for a token
(with Basic credentials when it has some) and repeats the request with it.
A registry with plain ``auth: htpasswd`` answers ``Basic`` challenges, which
are answered with the credentials directly.

HTTPS is the default. Plain HTTP needs ``--insecure`` and is then allowed
only for loopback registries, unless ``--insecure-remote`` says otherwise:
a pull over plain HTTP from another host could be altered on the way (the
digests are still checked, but a tag can be redirected).

Layer blobs are streamed to a file in the build directory while their
sha256 is computed, and checked before anything is applied.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from trail.apps.errors import AppError
from trail.apps.progress import NullReporter, Reporter
from trail.apps.reference import ImageRef, is_loopback
from trail.apps.sources.base import (
    DOCKER_SCHEMA1,
    INDEX_TYPES,
    MANIFEST_TYPES,
    Descriptor,
    ImageSource,
    Layer,
    Platform,
    ResolvedImage,
    check_document,
    read_limited,
    resolve_manifest,
    sha256_digest,
)

ACCEPT = ", ".join(sorted(MANIFEST_TYPES | INDEX_TYPES))
CHUNK = 1024 * 1024
DOWNLOAD_TRIES = 3
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


class RegistrySource(ImageSource):
    """One image reference on one registry."""

    docker_source = "remote"

    def __init__(
        self,
        ref: ImageRef,
        *,
        workdir: Path,
        insecure: bool = False,
        insecure_remote: bool = False,
        username: str | None = None,
        password: str | None = None,
        reporter: Reporter | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.ref = ref
        self.workdir = workdir
        self.reporter = reporter or NullReporter()
        self.host = ref.api_host
        self.insecure = insecure
        self.insecure_remote = insecure_remote
        self.where = f"{ref} on {self.host}"
        if insecure and not (is_loopback(self.host) or insecure_remote):
            raise AppError(
                "insecure",
                f"--insecure (plain HTTP) is allowed only for registries on this machine, "
                f"not {self.host}; add --insecure-remote if you accept that risk",
            )
        self.scheme = "http" if insecure else "https"
        self.base = f"{self.scheme}://{self.host}/v2/{ref.repository}"
        self.credentials = (username, password or "") if username else None
        self.http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=10.0),
            follow_redirects=True,  # blobs are often redirected to object storage
            headers={"User-Agent": "trail-app"},
        )
        self._tokens: dict[str, str] = {}
        self._authorization: str | None = None
        self._top: bytes | None = None

    def close(self) -> None:
        self.http.close()

    # --- resolving ---------------------------------------------------------

    def resolve(self, platform: Platform | None) -> ResolvedImage:
        body, media_type, digest = self._get_manifest(self.ref.reference)
        top = Descriptor(media_type=media_type, digest=digest, size=len(body))
        self._top = body
        manifest = resolve_manifest(self._fetch, top, platform, self.where)
        source: dict[str, Any] = {"kind": "registry", "location": str(self.ref)}
        if self.insecure:
            source["insecure"] = True
        return ResolvedImage(
            name=self.ref.name,
            tag=self.ref.tag if not self.ref.digest else None,
            digest=manifest.digest,
            config=manifest.config,
            layers=manifest.layers,
            platform=manifest.platform,
            docker_source=self.docker_source,
            source=source,
        )

    def _fetch(self, descriptor: Descriptor, what: str) -> bytes:
        assert descriptor.digest is not None
        if self._top is not None and sha256_digest(self._top) == descriptor.digest:
            return self._top
        if descriptor.media_type in MANIFEST_TYPES | INDEX_TYPES:
            body, _, _ = self._get_manifest(descriptor.digest)
        else:
            with self._stream("GET", f"{self.base}/blobs/{descriptor.digest}", what) as response:
                body = read_limited(response.iter_bytes(), f"{self.where} {what}")
        return check_document(body, descriptor, f"{self.where} {what}")

    def _get_manifest(self, reference: str) -> tuple[bytes, str, str]:
        """The manifest's bytes, media type and digest (checked against a
        digest reference and the registry's Docker-Content-Digest)."""
        url = f"{self.base}/manifests/{reference}"
        with self._stream("GET", url, f"manifest {reference}", accept=ACCEPT) as response:
            body = read_limited(response.iter_bytes(), f"{self.where} manifest")
            media_type = response.headers.get("content-type", "").split(";")[0].strip()
            announced = response.headers.get("docker-content-digest")
        digest = sha256_digest(body)
        if reference.startswith("sha256:") and digest != reference:
            raise AppError(
                "digest-mismatch", f"{self.where}: the manifest does not match {reference}"
            )
        if announced and announced.startswith("sha256:") and announced != digest:
            raise AppError(
                "digest-mismatch",
                f"{self.where}: the manifest's bytes ({digest}) do not match the digest the "
                f"registry announced ({announced})",
            )
        if media_type in DOCKER_SCHEMA1 or media_type in ("", "application/json", "text/plain"):
            media_type = ""  # let the document's own mediaType (or shape) decide
        return body, media_type, digest

    # --- layers --------------------------------------------------------------

    @contextmanager
    def open_layer(self, layer: Layer) -> Iterator[BinaryIO]:
        descriptor = layer.descriptor
        assert descriptor.digest is not None
        fd, name = tempfile.mkstemp(prefix="layer-", dir=self.workdir)
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                self._download(descriptor, out)
            with path.open("rb") as stream:
                yield stream
        finally:
            path.unlink(missing_ok=True)

    def _download(self, descriptor: Descriptor, out: BinaryIO) -> None:
        short = descriptor.digest[7:19] if descriptor.digest else "?"
        for attempt in range(1, DOWNLOAD_TRIES + 1):
            out.seek(0)
            out.truncate()
            hasher = hashlib.sha256()
            size = 0
            try:
                url = f"{self.base}/blobs/{descriptor.digest}"
                with (
                    self._stream("GET", url, f"layer {short}") as response,
                    self.reporter.task(f"pull {short}", descriptor.size) as task,
                ):
                    for chunk in response.iter_bytes(CHUNK):
                        out.write(chunk)
                        hasher.update(chunk)
                        size += len(chunk)
                        task.advance(len(chunk))
                        if descriptor.size is not None and size > descriptor.size:
                            break
            except AppError as exc:
                if exc.code != "registry" or attempt == DOWNLOAD_TRIES:
                    raise
                continue
            break
        if descriptor.size is not None and size != descriptor.size:
            raise AppError(
                "digest-mismatch",
                f"{self.where}: layer {descriptor.digest} sent {size} bytes or more, "
                f"not {descriptor.size}",
            )
        if "sha256:" + hasher.hexdigest() != descriptor.digest:
            raise AppError(
                "digest-mismatch",
                f"{self.where}: layer {descriptor.digest} does not match its digest "
                f"(got sha256:{hasher.hexdigest()})",
            )
        out.flush()

    # --- HTTP and auth ---------------------------------------------------------

    @contextmanager
    def _stream(
        self, method: str, url: str, what: str, accept: str | None = None
    ) -> Iterator[httpx.Response]:
        """A streamed 200 answer, after answering an auth challenge if needed."""
        for _ in range(2):
            headers = {"Accept": accept} if accept else {}
            if self._authorization:
                headers["Authorization"] = self._authorization
            try:
                with self.http.stream(method, url, headers=headers) as response:
                    if response.status_code == 401 and self._answer_challenge(response):
                        continue
                    if response.status_code != 200:
                        response.read()
                        raise self._error(response, what)
                    yield response
                    return
            except httpx.TransportError as exc:
                raise self._unreachable(exc) from None
        raise AppError("auth", f"{self.where}: the registry refused the credentials for {what}")

    def _answer_challenge(self, response: httpx.Response) -> bool:
        """Set ``_authorization`` from a 401's challenge; False when there is
        nothing new to try."""
        challenge = response.headers.get("www-authenticate", "")
        scheme, _, params = challenge.partition(" ")
        fields = dict(_CHALLENGE.findall(params))
        if scheme.lower() == "bearer" and "realm" in fields:
            scope = fields.get("scope") or f"repository:{self.ref.repository}:pull"
            if scope in self._tokens and self._authorization == f"Bearer {self._tokens[scope]}":
                return False  # that token was just refused
            self._tokens[scope] = self._token(fields["realm"], fields.get("service"), scope)
            self._authorization = f"Bearer {self._tokens[scope]}"
            return True
        if scheme.lower() == "basic":
            if self.credentials is None:
                raise AppError(
                    "auth",
                    f"{self.where}: the registry asks for a user name and password "
                    "(--username, and the password in TRAIL_REGISTRY_PASSWORD)",
                )
            user, password = self.credentials
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            if self._authorization == f"Basic {token}":
                return False  # these credentials were just refused
            self._authorization = f"Basic {token}"
            return True
        return False

    def _token(self, realm: str, service: str | None, scope: str) -> str:
        realm_url = httpx.URL(realm)
        if realm_url.scheme != "https" and not (
            is_loopback(realm_url.netloc.decode()) or self.insecure_remote
        ):
            raise AppError(
                "insecure", f"{self.where}: the token service {realm} is not HTTPS; refusing it"
            )
        params = {"scope": scope}
        if service:
            params["service"] = service
        auth = httpx.BasicAuth(*self.credentials) if self.credentials else None
        try:
            response = self.http.get(realm, params=params, auth=auth)
        except httpx.TransportError as exc:
            raise AppError("auth", f"cannot reach the token service {realm}: {exc}") from None
        if response.status_code in (401, 403):
            raise AppError(
                "auth",
                f"{self.where}: the token service refused "
                + ("these credentials" if self.credentials else "an anonymous pull"),
            )
        if response.status_code != 200:
            raise AppError(
                "auth", f"{self.where}: the token service answered HTTP {response.status_code}"
            )
        try:
            answer = response.json()
            token = answer.get("token") or answer.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise AppError("auth", f"{self.where}: the token service gave no token")
        return token

    def _error(self, response: httpx.Response, what: str) -> AppError:
        status = response.status_code
        codes, messages = [], []
        try:
            for error in response.json().get("errors") or []:
                codes.append(str(error.get("code")))
                messages.append(str(error.get("message")))
        except (ValueError, AttributeError):
            pass
        detail = f" ({'; '.join(messages)})" if messages else ""
        if status == 404 or {"MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN"} & set(codes):
            if what.startswith("manifest"):
                return AppError(
                    "not-found",
                    f"{self.ref} was not found on {self.host}: no such repository, tag or digest"
                    + detail,
                )
            return AppError("bad-image", f"{self.where}: the registry has no {what}{detail}")
        if status in (401, 403):
            return AppError("auth", f"{self.where}: access to {what} was refused{detail}")
        return AppError(
            "registry", f"{self.where}: the registry answered HTTP {status} for {what}{detail}"
        )

    def _unreachable(self, exc: httpx.TransportError) -> AppError:
        message = f"cannot reach registry {self.host} over {self.scheme.upper()}: {exc}"
        if self.scheme == "https" and is_loopback(self.host):
            message += " (for a plain-HTTP registry on this machine, add --insecure)"
        return AppError("registry", message)
