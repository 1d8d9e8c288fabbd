"""Which keys of a state are signed, by whom, and which signatures fail.

Written once for the hub, ``trail sig ls`` and ``trail-agent``:
:func:`verify_state` takes a state and, optionally, what to trust, and returns
a :class:`Report`. A signature passes as pvr's ``JwsVerifyPvs`` would accept it
(libpvr/pvslib.go): its signature holds over the payload recomputed from the
state, made by a trusted public key, or by the leaf of an ``x5c`` chain that
leads to a trusted CA certificate (or, without ``x5c``, by the key of a
trusted certificate itself). With nothing to trust, a signature that holds for
the key it names is reported ``unchecked``: intact, but nobody vouched for the signer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from cryptography import x509
from jwcrypto import jwk, jws

from trail.canonical import canonical_json
from trail.signatures.keys import PublicKey, chain_leads_to, describe_certificate
from trail.signatures.pvs import ALGORITHMS, PvsError, Signature, is_signature, parse, select
from trail.state import SPEC_KEY, load_json

__all__ = ["FAILURES", "Report", "SignatureCheck", "Status", "Trust", "verify_state"]

Status = Literal["ok", "unchecked", "untrusted", "changed", "bad-signature", "malformed"]
#: The statuses of a signature that does not hold.
FAILURES: frozenset[Status] = frozenset({"untrusted", "changed", "bad-signature", "malformed"})


@dataclass(frozen=True)
class Trust:
    """Who may sign: public keys (pvr ``--pubkey``) and CA certificates (``--cacerts``)."""

    keys: tuple[PublicKey, ...] = ()
    certs: tuple[x509.Certificate, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.keys or self.certs)


@dataclass(frozen=True)
class SignatureCheck:
    """One signature of a state, checked."""

    #: Its state key, ``_sigs/<name>.json``.
    key: str
    status: Status
    #: Why, for a person: empty when ``ok``.
    reason: str = ""
    #: Who signed: the leaf certificate's subject, or the key's thumbprint.
    signer: str | None = None
    #: The state keys it covers (by its globs, whether or not it holds).
    covers: tuple[str, ...] = ()
    #: Covered keys whose values differ from what was signed, when the signature
    #: carries its payload and so can tell (status ``changed``).
    changed: tuple[str, ...] = ()

    @property
    def holds(self) -> bool:
        """Whether the keys it covers count as signed."""
        return self.status in ("ok", "unchecked")


@dataclass(frozen=True)
class Report:
    """What :func:`verify_state` found."""

    signatures: tuple[SignatureCheck, ...]
    #: State keys no holding signature covers (``#spec`` and the signatures
    #: themselves need none), sorted.
    uncovered: tuple[str, ...]
    #: State key -> the signatures (keys) that cover it and hold.
    signed_by: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def failing(self) -> tuple[SignatureCheck, ...]:
        return tuple(check for check in self.signatures if check.status in FAILURES)

    @property
    def clean(self) -> bool:
        """Every key signed, by trusted signers, and no signature failing."""
        return not self.uncovered and all(c.status == "ok" for c in self.signatures)


def verify_state(
    state: Mapping[str, Any], trust: Trust | None = None, now: dt.datetime | None = None
) -> Report:
    """Check every signature of ``state`` (see the module's docstring)."""
    trust = trust or Trust()
    checks = [
        _check(state, key, value, trust, now)
        for key, value in sorted(state.items())
        if is_signature(key, value)
    ]
    exempt = {SPEC_KEY} | {check.key for check in checks}
    signed_by: dict[str, list[str]] = {}
    for check in checks:
        if check.holds:
            for key in check.covers:
                signed_by.setdefault(key, []).append(check.key)
    uncovered = tuple(key for key in sorted(state) if key not in exempt and key not in signed_by)
    return Report(tuple(checks), uncovered, {key: tuple(sigs) for key, sigs in signed_by.items()})


def _check(
    state: Mapping[str, Any], key: str, value: Any, trust: Trust, now: dt.datetime | None
) -> SignatureCheck:
    try:
        sig = parse(value)
    except PvsError as exc:
        return SignatureCheck(key, "malformed", str(exc))
    selection = select(state, sig.match)
    signed = canonical_json({k: state[k] for k in selection.covered})
    found = SignatureCheck(key, "ok", covers=selection.covered)

    # Does it hold for the key it names (the x5c leaf, else the embedded jwk)?
    own: jwk.JWK | None = None
    signer = None
    if sig.chain:
        own = jwk.JWK.from_pyca(sig.chain[0].public_key())
        signer = describe_certificate(sig.chain[0])
    elif sig.jwk is not None:
        own = sig.jwk
        signer = _thumbprint(sig.jwk)

    if sig.payload is not None and own is not None:
        # It carries what it signed: a mismatch then says which keys changed.
        if not _holds(sig, own, None):
            return _replace(
                found, "bad-signature", "the signature does not match its payload", signer
            )
        if sig.payload != signed:
            changed = _changed_keys(sig.payload, state, selection.covered)
            listing = ", ".join(changed) or "the covered keys"
            return _replace(
                found, "changed", f"changed since it was signed: {listing}", signer, changed
            )
    intact = own is not None and _holds(sig, own, signed)

    if not trust:
        if intact:
            return _replace(found, "unchecked", "no trusted keys or CA certificates given", signer)
        if own is None:
            return _replace(found, "untrusted", "names no key and nothing is trusted")
        return _replace(found, "bad-signature", _MISMATCH, signer)

    # Trusted keys, then a chain to a trusted CA, as pvr tries them.
    why_untrusted = "signed by a key that is not trusted"
    for candidate in trust.keys:
        if _holds(sig, jwk.JWK.from_pyca(candidate), signed):
            return _replace(found, "ok", "", signer or _thumbprint(jwk.JWK.from_pyca(candidate)))
    if sig.chain:
        problem = chain_leads_to(sig.chain, trust.certs, now) if trust.certs else None
        if trust.certs and problem is None:
            if intact:
                return _replace(found, "ok", "", signer)
            return _replace(found, "bad-signature", _MISMATCH, signer)
        why_untrusted = problem or why_untrusted
    else:
        for cert in trust.certs:
            if chain_leads_to([cert], trust.certs, now) is None and _holds(
                sig, jwk.JWK.from_pyca(cert.public_key()), signed
            ):
                return _replace(found, "ok", "", describe_certificate(cert))
    if own is not None and not intact:
        return _replace(found, "bad-signature", _MISMATCH, signer)
    return _replace(found, "untrusted", why_untrusted, signer)


_MISMATCH = (
    "does not match the keys it covers: one changed since it was signed, "
    "or the signature was altered"
)


def _holds(sig: Signature, key: jwk.JWK, detached: bytes | None) -> bool:
    """Whether the signature verifies with ``key`` over ``detached`` (None: its own payload)."""
    token = jws.JWS()
    token.allowed_algs = list(ALGORITHMS)
    try:
        token.deserialize(sig.jws)
        if detached is not None and sig.payload is not None:
            # Verify over what the state holds now, not over what it carries.
            token.detach_payload()
        token.verify(key, detached_payload=detached)
    except (jws.InvalidJWSSignature, jws.InvalidJWSObject, jws.InvalidJWSOperation):
        return False
    except Exception:  # a key of the wrong type for alg, etc.
        return False
    return True


def _changed_keys(
    carried: bytes, state: Mapping[str, Any], covered: Sequence[str]
) -> tuple[str, ...]:
    try:
        signed = load_json(carried)
    except ValueError:
        return ()
    if not isinstance(signed, dict):
        return ()
    keys = set(signed) | set(covered)
    return tuple(
        sorted(
            k
            for k in keys
            if k not in signed
            or k not in state
            or k not in covered
            or canonical_json(signed[k]) != canonical_json(state[k])
        )
    )


def _thumbprint(key: jwk.JWK) -> str:
    return f"key {key.thumbprint()[:16]}"


def _replace(
    found: SignatureCheck,
    status: Status,
    reason: str,
    signer: str | None = None,
    changed: tuple[str, ...] = (),
) -> SignatureCheck:
    return SignatureCheck(found.key, status, reason, signer, found.covers, changed)
