"""Where the hub may send a webhook, and the one way it sends there.

A webhook must not turn the hub into a proxy into its own network: a target
that is private, loopback, link-local, multicast, reserved or unspecified is
refused when the webhook is registered and again at each attempt, after the
name is resolved. The attempt then connects to the address that was checked
(not to the name, which could resolve elsewhere a moment later: DNS
rebinding), sends the name as ``Host`` and, for https, as the TLS server name
the certificate must match. No redirect is followed, the wait is short and
only the start of the answer is read. ``WEBHOOK_ALLOW_PRIVATE_TARGETS`` lifts
the address check (a hub on a LAN; the tests' receiver on 127.0.0.1).
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

#: Seconds to connect, and to wait for each read of the answer.
TIMEOUT = 5
#: Bytes of the answer read; the rest is never read.
READ_LIMIT = 4096
#: Characters of the answer kept with an attempt.
EXCERPT = 200


class Refused(Exception):
    """The target is not one the hub may send to; the message says why."""


class Unresolvable(OSError):
    """The target's name does not resolve (now: a later attempt may find it)."""


@dataclass(frozen=True)
class Answer:
    code: int
    excerpt: str


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str


def parse(url: str) -> Target:
    """The parts of a webhook URL, or Refused for one the hub does not send to."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise Refused("the URL must start with http:// or https://")
    if not parts.hostname:
        raise Refused("the URL names no host")
    if parts.username or parts.password:
        raise Refused("the URL must not hold a user name or password; sign with the secret")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Refused("the URL's port is not a number from 1 to 65535") from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, port, path)


def forbidden(address: str) -> bool:
    """Whether the hub keeps away from ``address`` (unless the setting allows it)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified


def resolve(target: Target) -> str:
    """The address to connect to for ``target``: every address its name resolves to is
    checked, and the first one is used. Refused for a forbidden one."""
    try:
        found = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(f"cannot resolve {target.host}: {exc}") from None
    addresses = [str(info[4][0]) for info in found]
    if not addresses:
        raise Unresolvable(f"{target.host} resolves to no address")
    if not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        for address in addresses:
            if forbidden(address):
                raise Refused(
                    f"{target.host} resolves to {address}, a private, loopback, link-local,"
                    " multicast or reserved address"
                )
    return addresses[0]


def check(url: str) -> None:
    """Refused for a URL the hub would not send to (at registration). A name that does
    not resolve now passes: it is resolved and checked again at each attempt."""
    target = parse(url)
    try:
        ipaddress.ip_address(target.host)
    except ValueError:
        with contextlib.suppress(Unresolvable):
            resolve(target)
    else:
        if not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS and forbidden(target.host):
            raise Refused(
                f"{target.host} is a private, loopback, link-local, multicast or reserved address"
            )


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a checked address, verifying the certificate against the URL's name."""

    def __init__(self, address: str, host: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, address: str, host: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


def post(url: str, payload: bytes, headers: dict[str, str]) -> Answer:
    """POST ``payload`` to ``url`` once; Refused for a forbidden target, OSError (and
    http.client's errors) when it cannot be reached."""
    target = parse(url)
    address = resolve(target)
    kind = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    connection = kind(address, target.host, target.port, TIMEOUT)
    try:
        connection.request(
            "POST",
            target.path,
            body=payload,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "Trailhub-Hookshot",
                **headers,
            },
        )
        response = connection.getresponse()
        start = response.read(READ_LIMIT)
        return Answer(response.status, start.decode("utf-8", "replace")[:EXCERPT])
    finally:
        connection.close()
