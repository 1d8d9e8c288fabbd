"""Fixtures for ``trail app``: registries on loopback and an empty working copy.

``registry`` is Debian's ``docker-registry`` (the distribution project's
server) with anonymous access; ``token_registry`` is the same server with
``auth: token``, next to a small token service that signs JWTs (RS256, with
an ``x5c`` certificate the registry trusts) through ``openssl``. Both keep
their config and storage in a temporary directory and listen on a free
loopback port. A missing binary fails the tests: it is a CI dependency
(``.ci/system-packages.sh``), not an optional one.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from testsupport.live import free_port, stop_process, wait_for
from trail.objects import ObjectStore

# The end-to-end harness (a live hub, a logged-in `trail`, running agents), for
# test_e2e.py; each starts only when a test asks for it.
from trail.tests.e2e.conftest import alice, live, start_device, trail  # noqa: F401
from trail.workcopy import WorkCopy

SPEC = "pantavisor-service-system@1"
SERVICE = "trail-test-registry"
ISSUER = "trail-test-issuer"
USERS = {"alice": "s3cret"}


def _need(binary: str) -> str:
    found = shutil.which(binary)
    if not found:
        pytest.fail(
            f"{binary} is not installed; .ci/system-packages.sh installs it "
            "(apt-get install docker-registry squashfs-tools openssl)"
        )
    return found


@dataclass
class Registry:
    """A running docker-registry: ``host`` is ``127.0.0.1:<port>``."""

    host: str
    process: subprocess.Popen
    log: Path
    storage: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def stop(self) -> None:
        stop_process(self.process)


def start_registry(directory: Path, auth: str = "") -> Registry:
    binary = _need("docker-registry")
    port = free_port()
    storage = directory / "storage"
    storage.mkdir(parents=True)
    config = directory / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: trail-tests-only\n" + auth
    )
    log = directory / "registry.log"
    with log.open("wb") as out:
        process = subprocess.Popen([binary, "serve", str(config)], stdout=out, stderr=out)
    registry = Registry(f"127.0.0.1:{port}", process, log, storage)

    def answers() -> bool:  # /v2/ answers 200, or 401 with auth
        if process.poll() is not None:
            pytest.fail(f"docker-registry exited: {log.read_text()[-2000:]}")
        return httpx.get(f"{registry.url}/v2/", timeout=2).status_code in (200, 401)

    try:
        wait_for("docker-registry to answer", answers)
    except AssertionError:
        registry.stop()
        raise
    return registry


@pytest.fixture(scope="session")
def registry(tmp_path_factory) -> Iterator[Registry]:
    """An anonymous registry on loopback, shared by the session's tests
    (each test pushes to repositories of its own)."""
    running = start_registry(tmp_path_factory.mktemp("registry"))
    yield running
    running.stop()


# --- token auth ---------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenService:
    """Signs registry tokens: anonymous pulls of ``public/*``, anything for
    ``alice``; wrong credentials get 401. ``requests`` records what it saw."""

    def __init__(self, directory: Path) -> None:
        openssl = _need("openssl")
        self.key = directory / "token.key"
        self.cert = directory / "token.pem"
        subprocess.run(
            [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
            + ["-subj", "/CN=trail-test-token-issuer"]
            + ["-keyout", str(self.key), "-out", str(self.cert)],
            check=True,
            capture_output=True,
        )
        der = subprocess.run(
            [openssl, "x509", "-in", str(self.cert), "-outform", "DER"],
            check=True,
            capture_output=True,
        ).stdout
        self.x5c = base64.b64encode(der).decode()
        self.requests: list[dict] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                user = service.user_of(self.headers.get("Authorization"))
                service.requests.append({"user": user, "scope": query.get("scope", [""])[0]})
                if user is False:
                    self.send_response(401)
                    self.end_headers()
                    return
                body = json.dumps({"token": service.token(user, query.get("scope", []))})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def user_of(self, header: str | None) -> str | None | bool:
        """The user named by Basic credentials, None without any, False if wrong."""
        if not header:
            return None
        try:
            user, _, password = base64.b64decode(header.split(" ", 1)[1]).decode().partition(":")
        except (ValueError, IndexError):
            return False
        return user if USERS.get(user) == password else False

    def token(self, user: str | None, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if user is not None:
                allowed = actions.split(",")
            else:
                allowed = ["pull"] if name.startswith("public/") and "pull" in actions else []
            access.append({"type": kind, "name": name, "actions": allowed})
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": user or "",
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": _b64url(str(time.monotonic_ns()).encode()),
            "access": access,
        }
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        )
        signature = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", str(self.key)],
            input=signing_input.encode(),
            check=True,
            capture_output=True,
        ).stdout
        return f"{signing_input}.{_b64url(signature)}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class TokenRegistry:
    registry: Registry
    tokens: TokenService

    @property
    def host(self) -> str:
        return self.registry.host

    @property
    def url(self) -> str:
        return self.registry.url

    def push_headers(self, repository: str) -> dict[str, str]:
        """An Authorization header that may push to ``repository`` (as alice)."""
        token = self.tokens.token("alice", [f"repository:{repository}:pull,push"])
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory) -> Iterator[TokenRegistry]:
    directory = tmp_path_factory.mktemp("token-registry")
    tokens = TokenService(directory)
    auth = (
        "auth:\n  token:\n"
        f"    realm: {tokens.url}\n    service: {SERVICE}\n    issuer: {ISSUER}\n"
        f"    rootcertbundle: {tokens.cert}\n"
    )
    running = start_registry(directory, auth)
    yield TokenRegistry(running, tokens)
    running.stop()
    tokens.stop()


# --- a working copy ------------------------------------------------------------------------


@pytest.fixture
def wc(tmp_path) -> WorkCopy:
    """An empty working copy (no hub needed for ``trail app``)."""
    config = {"hub": "http://127.0.0.1:9", "trail-id": "0" * 24, "rev": 0, "latest": 0}
    return WorkCopy.create(
        tmp_path / "device", config, {"#spec": SPEC}, ObjectStore(tmp_path / "objects")
    )
