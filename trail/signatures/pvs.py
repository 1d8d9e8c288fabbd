"""The ``pvs@2`` signature format of pvr, read and written.

A signature is a state key, ``_sigs/<name>.json``, whose value is a JSON Web
Signature in the JSON serialization with ``"#spec": "pvs@2"`` added and, as pvr
writes it by default, no ``payload`` (libpvr/pvslib.go ``JwsSign``). Its
protected header holds

* ``alg``: RS256 for an RSA key, ES256 / ES384 for a P-256 / P-384 key;
* ``jwk``: the signer's public key;
* ``pvs``: ``{"include": [globs], "exclude": [globs]}``, which keys it covers;
* ``typ``: ``"PVS"``;
* ``x5c``: the signer's certificate chain, leaf first, when one was given.

What is signed (the detached payload) is the canonical JSON (:mod:`trail.canonical`,
the form pvr writes with gibson042/canonicaljson-go) of the object made of the
state's covered keys and their values: a key is covered when an ``include``
glob matches it and no ``exclude`` glob does (:mod:`trail.signatures.glob`).
The state includes ``#spec`` and the other signatures, like any other key.
"""

from __future__ import annotations

import base64
import json
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from jwcrypto import jwk, jws

from trail.canonical import canonical_json
from trail.signatures.glob import GlobError, compile_glob
from trail.signatures.keys import PrivateKey, algorithm_for

__all__ = [
    "ALGORITHMS",
    "SIGS_DIR",
    "SPEC",
    "Match",
    "PvsError",
    "Selection",
    "Signature",
    "is_signature",
    "parse",
    "part_match",
    "payload",
    "select",
    "sign",
    "signature_key",
    "state_match",
]

SPEC = "pvs@2"
SIGS_DIR = "_sigs"
TYPE = "PVS"
#: What a pvs signature may be made with: what pvr makes, and the rest of the
#: public-key algorithms go-jose verifies. Never HS*: a public key is no secret.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")

_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+-]*")


class PvsError(ValueError):
    """A signature that cannot be read or made: malformed, or a bad name or glob."""


@dataclass(frozen=True)
class Match:
    """The ``pvs`` member: which keys a signature covers."""

    include: tuple[str, ...]
    exclude: tuple[str, ...]

    def __post_init__(self) -> None:
        for pattern in (*self.include, *self.exclude):
            try:
                compile_glob(pattern)
            except GlobError as exc:
                raise PvsError(str(exc)) from None

    def covers(self, key: str) -> bool:
        return self.includes(key) and not self.excludes(key)

    def includes(self, key: str) -> bool:
        return any(compile_glob(p).fullmatch(key) for p in self.include)

    def excludes(self, key: str) -> bool:
        return any(compile_glob(p).fullmatch(key) for p in self.exclude)

    def as_json(self) -> dict[str, list[str]]:
        # Members in the order of pvr's PvsMatch struct, as Go writes it.
        return {"include": list(self.include), "exclude": list(self.exclude)}

    @classmethod
    def from_json(cls, value: Any) -> Match:
        if not isinstance(value, dict):
            raise PvsError('the protected header has no "pvs" object')
        lists = []
        for member in ("include", "exclude"):
            globs = value.get(member)
            if globs is None:  # Go writes a nil slice as null; it matches nothing
                globs = []
            if not isinstance(globs, list) or not all(isinstance(g, str) for g in globs):
                raise PvsError(f'"pvs" member "{member}" must be a list of strings')
            lists.append(tuple(globs))
        return cls(*lists)


def check_name(name: str) -> str:
    """``name`` if it can name ``_sigs/<name>.json`` (one plain file name)."""
    if not _NAME.fullmatch(name) or name.endswith(".json"):
        raise PvsError(
            f"signature name {name!r} must be letters, digits and . _ + - "
            "(not starting with . or -, and without .json)"
        )
    return name


def signature_key(name: str) -> str:
    """The state key of the signature called ``name``."""
    return f"{SIGS_DIR}/{check_name(name)}.json"


def part_match(
    part: str,
    include: Sequence[str] = ("**",),
    exclude: Sequence[str] = ("src.json",),
    config: bool = True,
) -> Match:
    """The match ``pvr sig add --part PART`` writes (cmdsigadd.go): the globs taken
    inside the part, its ``_sigs/<part>.json`` excluded, and ``_config/<part>/**``
    included unless ``config`` is false (``--noconfig``)."""
    check_name(part)
    includes = [_join(part, glob) for glob in include]
    excludes = [_join(part, glob) for glob in exclude]
    excludes.append(signature_key(part))
    if config:
        includes.append(f"_config/{part}/**")
    return Match(tuple(includes), tuple(excludes))


def state_match(
    name: str, include: Sequence[str] = ("**",), exclude: Sequence[str] = (f"{SIGS_DIR}/**",)
) -> Match:
    """A match taken as given (``pvr sig add --raw``); by default the whole state
    but the signatures, so that signing a part later does not break this one.
    The signature's own key is always excluded (pvr means to, but joins an
    empty part name there and excludes ``_sigs/.json``)."""
    own = signature_key(name)
    excludes = list(exclude)
    if not any(compile_glob(glob).fullmatch(own) for glob in excludes):
        excludes.append(own)
    return Match(tuple(include), tuple(excludes))


def _join(part: str, glob: str) -> str:
    # Go's path.Join: joined, then cleaned.
    return posixpath.normpath(f"{part}/{glob}")


@dataclass(frozen=True)
class Selection:
    """How a match splits a state's keys (pvr's ``selectPayload``), each sorted."""

    covered: tuple[str, ...]
    #: Matched by an exclude glob.
    excluded: tuple[str, ...]
    #: Matched by no glob.
    unseen: tuple[str, ...]


def select(state: Mapping[str, Any], match: Match) -> Selection:
    covered, excluded, unseen = [], [], []
    for key in sorted(state):
        if match.excludes(key):
            excluded.append(key)
        elif match.includes(key):
            covered.append(key)
        else:
            unseen.append(key)
    return Selection(tuple(covered), tuple(excluded), tuple(unseen))


def payload(state: Mapping[str, Any], match: Match) -> bytes:
    """What a signature with ``match`` signs over ``state``."""
    return canonical_json({key: state[key] for key in select(state, match).covered})


def is_signature(key: str, value: Any) -> bool:
    """Whether a state entry is a signature, or should be one: a value with
    ``"#spec": "pvs@2"`` anywhere (what ``pvr sig ls`` lists), or any file
    under ``_sigs/`` (which is malformed when it is not one)."""
    if key.startswith(f"{SIGS_DIR}/"):
        return True
    return isinstance(value, dict) and value.get("#spec") == SPEC


@dataclass(frozen=True)
class Signature:
    """A parsed signature; nothing about it checked but its form."""

    jws: str
    alg: str
    match: Match
    chain: tuple[x509.Certificate, ...]
    jwk: jwk.JWK | None
    #: The payload the signature carries, when it was written with one.
    payload: bytes | None


def parse(value: Any) -> Signature:
    """Read a signature's value; raise :class:`PvsError` saying what is malformed."""
    if not isinstance(value, dict):
        raise PvsError("a signature must be a JSON object")
    if value.get("#spec") != SPEC:
        raise PvsError(f'"#spec" must be "{SPEC}", not {json.dumps(value.get("#spec"))}')
    body = {k: v for k, v in value.items() if k != "#spec"}
    entries = body.get("signatures")
    if entries is not None:
        # go-jose's DetachedVerify takes exactly one signature.
        if not isinstance(entries, list) or len(entries) != 1:
            raise PvsError("a pvs signature holds exactly one signature")
        entry = entries[0]
    else:
        entry = body
    if not isinstance(entry, dict) or not isinstance(entry.get("protected"), str):
        raise PvsError('a pvs signature needs a "protected" header')
    try:
        header = json.loads(_b64decode(entry["protected"]))
    except ValueError:
        raise PvsError("the protected header is not base64url JSON") from None
    if not isinstance(header, dict):
        raise PvsError("the protected header is not a JSON object")
    unprotected = entry.get("header") or {}
    if not isinstance(unprotected, dict):
        raise PvsError('the "header" member is not a JSON object')
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise PvsError(f"alg {json.dumps(alg)} is not one of {', '.join(ALGORITHMS)}")
    match = Match.from_json(header.get("pvs"))
    chain = _chain(header.get("x5c", unprotected.get("x5c")))
    key = None
    if header.get("jwk") is not None:
        try:
            key = jwk.JWK(**header["jwk"])
        except Exception:  # jwcrypto raises many kinds for a bad key
            raise PvsError("the embedded jwk is not a public key") from None
        if key.has_private:
            raise PvsError("the embedded jwk holds a private key")
    embedded = None
    if isinstance(body.get("payload"), str) and body["payload"]:
        try:
            embedded = _b64decode(body["payload"])
        except ValueError:
            raise PvsError("the payload is not base64url") from None
    token = jws.JWS()
    token.allowed_algs = list(ALGORITHMS)
    try:
        token.deserialize(json.dumps(body))
    except jws.InvalidJWSObject as exc:
        raise PvsError(f"not a JSON Web Signature: {exc}") from None
    return Signature(json.dumps(body), alg, match, chain, key, embedded)


def _b64decode(text: str) -> bytes:
    # base64url without padding (RFC 7515); pvr's --with-payload writes std base64.
    text = text.replace("+", "-").replace("/", "_").rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _chain(value: Any) -> tuple[x509.Certificate, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise PvsError("x5c must be a list of base64 certificates")
    try:
        return tuple(x509.load_der_x509_certificate(base64.b64decode(c)) for c in value)
    except ValueError:
        raise PvsError("x5c holds something that is not a DER certificate") from None


def sign(
    state: Mapping[str, Any],
    match: Match,
    key: PrivateKey,
    chain: Iterable[x509.Certificate] = (),
    with_payload: bool = False,
) -> dict[str, Any]:
    """The signature over ``state``'s keys that ``match`` covers, as ``pvr sig add``
    writes it: the value to store at its ``_sigs/<name>.json`` key."""
    public = key.public_key()
    alg = algorithm_for(public)
    header: dict[str, Any] = {
        "alg": alg,
        "jwk": _go_jwk(jwk.JWK.from_pyca(public)),
        "pvs": match.as_json(),
        "typ": TYPE,
    }
    certs = [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in chain]
    if certs:
        header["x5c"] = certs
    token = jws.JWS(payload(state, match))
    token.allowed_algs = list(ALGORITHMS)
    token.add_signature(jwk.JWK.from_pyca(key), alg=None, protected=_go_json(header))
    document: dict[str, Any] = json.loads(token.serialize())
    if not with_payload:
        del document["payload"]
    document["#spec"] = SPEC
    return document


def _go_jwk(key: jwk.JWK) -> dict[str, Any]:
    """The public key with go-jose's members, in its order."""
    fields = key.export_public(as_dict=True)
    names = ("kty", "crv", "x", "y") if fields["kty"] == "EC" else ("kty", "n", "e")
    return {name: fields[name] for name in names}


def _go_json(value: Any) -> str:
    """JSON as Go's encoding/json writes it: compact, UTF-8, with <, > and & escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
