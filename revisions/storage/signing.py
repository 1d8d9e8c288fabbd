"""Path-signed, expiring object URLs: ``/local-s3/<token>``.

Pantavisor sends only the path of a signed URL to its hub (it drops the
query), and finds its upload path with ``strstr(url, "/local-s3")``; so the
whole grant lives in one path segment. A token reads
``get.<sha>.<exp>.<signature>``, ``get.<sha>.<exp>.<name>.<signature>`` or
``put.<sha>.<exp>.<grant>.<size>.<signature>``: the operation, the sha, the
expiry (Unix time), for a download from the portal the file name it is saved
under (base64url, so its own dots are no separators) and, for an upload, the
grant and its exact size, signed with :class:`django.core.signing.Signer` (HMAC-SHA256,
key derived from ``SECRET_KEY`` and a salt of our own). Changing any part, or
using it after ``exp``, makes it worthless. Every character is one a URL path
takes as it is (``[0-9a-zA-Z._-]``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import time
from dataclasses import dataclass

from django.core import signing
from django.urls import reverse

from revisions.storage.base import SHA256_RE
from trail.wire import LOCAL_S3

SALT = "trailhub.revisions.storage.local-s3"
#: The path prefix of every signed object URL (the one Pantavisor looks for).
PREFIX = LOCAL_S3 + "/"
OPS = ("get", "put")


class SignatureError(Exception):
    """A signed URL that may not be used; ``code`` and ``status`` are the answer's."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        self.code = code
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class SignedRequest:
    op: str
    sha: str
    exp: int
    grant: str = ""
    size: int | None = None
    #: The name a download is saved under (Content-Disposition), or "" for none.
    filename: str = ""


def _signer() -> signing.Signer:
    # Built per call, so that the current SECRET_KEY signs.
    return signing.Signer(sep=".", salt=SALT, algorithm="sha256")


def sign(
    op: str, sha: str, exp: int, grant: str = "", size: int | None = None, filename: str = ""
) -> str:
    """The token that allows ``op`` on ``sha`` until ``exp`` (an upload: of ``grant``,
    ``size`` bytes; a download: saved as ``filename`` when one is given)."""
    if op not in OPS or not SHA256_RE.match(sha):
        raise ValueError(f"cannot sign {op!r} on {sha!r}")
    fields = [op, sha, str(int(exp))]
    if op == "put":
        if not grant.isalnum() or size is None or size < 0:
            raise ValueError("an upload token needs its grant and size")
        fields += [grant, str(size)]
    elif filename:
        fields.append(_encode_name(filename))
    return _signer().sign(".".join(fields))


def _encode_name(filename: str) -> str:
    return base64.urlsafe_b64encode(filename.encode("utf-8")).decode("ascii").rstrip("=")


def _decode_name(field: str) -> str:
    padded = field + "=" * (-len(field) % 4)
    try:
        return base64.urlsafe_b64decode(padded).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):  # pragma: no cover - signed by sign() only
        raise SignatureError("bad-signature", "this object URL is not one of ours") from None


def url(request, token: str) -> str:
    """The absolute URL of ``token`` on this hub, in the scheme the request came in
    (https behind a TLS proxy only with ``BEHIND_TLS_PROXY``; docs/deployment.md)."""
    return request.build_absolute_uri(reverse("local-s3", kwargs={"token": token}))


def upload_url(request, grant: str, sha: str, size: int, expires: dt.datetime) -> str:
    """This hub's URL to ``PUT`` exactly ``size`` bytes of ``sha`` to, for ``grant``."""
    return url(request, sign("put", sha, int(expires.timestamp()), grant, size))


def download_url(request, sha: str, expires: dt.datetime, filename: str = "") -> str:
    """This hub's URL to ``GET`` the bytes of ``sha`` from (saved as ``filename``, if given)."""
    return url(request, sign("get", sha, int(expires.timestamp()), filename=filename))


def _now() -> float:
    return time.time()


def verify(token: str) -> SignedRequest:
    """The grant ``token`` carries; SignatureError if it is altered, not ours, or expired."""
    try:
        value = _signer().unsign(token.strip("/"))
    except signing.BadSignature:
        raise SignatureError(
            "bad-signature", "this object URL was altered or is not ours; ask for a new one"
        ) from None
    fields = value.split(".")
    op = fields[0]
    if op == "get" and len(fields) in (3, 4):
        name = _decode_name(fields[3]) if len(fields) == 4 else ""
        signed = SignedRequest(op=op, sha=fields[1], exp=int(fields[2]), filename=name)
    elif op == "put" and len(fields) == 5:
        signed = SignedRequest(
            op=op, sha=fields[1], exp=int(fields[2]), grant=fields[3], size=int(fields[4])
        )
    else:  # pragma: no cover - only sign() makes tokens that pass the signature
        raise SignatureError("bad-signature", "this object URL is not one of ours")
    if signed.exp < _now():
        raise SignatureError("expired", "this object URL has expired; ask for a new one")
    return signed


def check(token: str, method: str, content_length: str | None = None) -> SignedRequest:
    """What a request to ``/local-s3/<token>`` may do, decided before any body byte is read.

    ``method`` must be the token's operation (``HEAD`` goes with ``get``); an
    upload whose ``Content-Length`` is not the signed size is refused (413
    when it is larger, 400 when smaller). A missing Content-Length is left
    to the counting as the body streams in.
    """
    signed = verify(token)
    op = "get" if method in ("GET", "HEAD") else method.lower()
    if op != signed.op:
        raise SignatureError(
            "bad-signature", f"this URL is for {signed.op.upper()} only; ask for a new one"
        )
    if op == "put" and content_length not in (None, ""):
        if not content_length.isdigit():
            raise SignatureError("bad-length", "Content-Length must be a number of bytes", 400)
        length = int(content_length)
        assert signed.size is not None  # sign() gives every upload token its size
        if length > signed.size:
            raise SignatureError(
                "too-large",
                f"Content-Length is {length}, this URL takes exactly {signed.size} bytes",
                413,
            )
        if length < signed.size:
            raise SignatureError(
                "size-mismatch",
                f"Content-Length is {length}, the announced size is {signed.size}",
                400,
            )
    return signed
