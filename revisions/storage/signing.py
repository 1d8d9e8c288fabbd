"""HMAC-signed, expiring URLs for the filesystem store.

A URL names the operation, the sha, (for an upload) the grant and its exact
size, and the expiry, and carries ``sig`` = HMAC-SHA256 over all of them
with a key derived from ``SECRET_KEY``. Changing any part, or using it after
``exp``, makes it worthless.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlencode

from django.utils.crypto import constant_time_compare, salted_hmac

SALT = "trailhub.revisions.storage"
OPS = ("get", "put")


class SignatureError(Exception):
    """``code`` is ``bad-signature`` or ``expired``."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class SignedRequest:
    op: str
    sha: str
    grant: str
    size: int | None
    exp: int


def _signature(op: str, sha: str, grant: str, size: str, exp: str) -> str:
    message = "\n".join((op, sha, grant, size, exp))
    return salted_hmac(SALT, message, algorithm="sha256").hexdigest()


def signed_query(op: str, sha: str, exp: int, grant: str = "", size: int | None = None) -> str:
    """The query string of a signed URL for ``op`` on ``sha`` until ``exp`` (Unix time)."""
    fields = {"op": op, "exp": str(exp)}
    if grant:
        fields["grant"] = grant
    if size is not None:
        fields["size"] = str(size)
    fields["sig"] = _signature(op, sha, grant, fields.get("size", ""), fields["exp"])
    return urlencode(fields)


def _now() -> float:
    return time.time()


def verify(sha: str, params) -> SignedRequest:
    """Check a signed URL's query ``params`` for ``sha``; raise SignatureError if it is not good."""
    op = params.get("op", "")
    exp = params.get("exp", "")
    grant = params.get("grant", "")
    size = params.get("size", "")
    sig = params.get("sig", "")
    if op not in OPS or not exp.isdigit() or (size and not size.isdigit()):
        raise SignatureError(
            "bad-signature", "this object URL is not a signed URL; ask for a new one"
        )
    if not constant_time_compare(sig, _signature(op, sha, grant, size, exp)):
        raise SignatureError(
            "bad-signature", "this object URL was altered or is not ours; ask for a new one"
        )
    if int(exp) < _now():
        raise SignatureError("expired", "this object URL has expired; ask for a new one")
    return SignedRequest(
        op=op, sha=sha, grant=grant, size=int(size) if size else None, exp=int(exp)
    )
