"""The signers a person trusts (``/auth/signing-keys``): public keys, CA certificates,
and other people whose own keys and certificates they trust.

What they add up to is :func:`trust_of`, the :class:`trail.signatures.Trust` the
hub checks a signed revision with (revisions/services/steps.py) and the PEMs a
device that requires signatures reads (:func:`trusted_pems`). The PEM is parsed
and stored again in its canonical form, one key or certificate per entry; a
private key is refused and never stored (docs/signing.md).
"""

from __future__ import annotations

import hashlib
import re

from cryptography.hazmat.primitives import serialization
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from rest_framework import exceptions

from portal import audit
from portal.errors import Conflict, DomainError
from portal.models import SigningKey, User
from trail.signatures import KeyFileError, Trust
from trail.signatures.keys import PublicKey, algorithm_for, load_certificates, load_public_keys
from trail.signatures.rule import trust_from_pems

#: Longer than any RSA-8192 certificate with its extensions.
MAX_PEM = 16_000
_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----")
_SIGNERS = ("key", "cert")


def signing_keys_of(owner) -> QuerySet[SigningKey]:
    return SigningKey.objects.filter(owner=owner).select_related("trusted_user")


def fingerprint(key: PublicKey) -> str:
    """The SHA-256 (hex) of a public key's SubjectPublicKeyInfo DER."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def read_pem(text: str) -> tuple[str, str, str]:
    """``(kind, canonical PEM, fingerprint)`` of one public key or certificate, or a 400."""
    kinds = _BEGIN.findall(text)
    if any("PRIVATE KEY" in kind for kind in kinds):
        raise DomainError(
            "that is a private key: upload only the public key or the certificate"
            " (the private key stays with the signer, never on the hub)",
            "private-key",
        )
    if len(kinds) != 1:
        raise DomainError(
            "give exactly one PEM block: a PUBLIC KEY or a CERTIFICATE"
            + (f" (found {len(kinds)})" if kinds else ""),
            "bad-pem",
        )
    data = text.encode()
    try:
        if kinds[0] == "CERTIFICATE":
            cert = load_certificates(data, "the PEM")[0]
            key = cert.public_key()
            if not isinstance(key, PublicKey):
                raise KeyFileError("the certificate's key is neither RSA nor EC")
            algorithm_for(key)
            return "cert", cert.public_bytes(serialization.Encoding.PEM).decode(), fingerprint(key)
        key = load_public_keys(data, "the PEM")[0]
        algorithm_for(key)
    except KeyFileError as exc:
        raise DomainError(str(exc), "bad-pem") from None
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return "key", pem, fingerprint(key)


def add_pem(owner, name: str, pem: str) -> SigningKey:
    """Trust a public key or CA certificate: a 400 for anything else, a 409 for one
    already trusted."""
    name = _name(name)
    if len(pem) > MAX_PEM:
        raise DomainError(f"a PEM of at most {MAX_PEM} characters", "bad-pem")
    kind, canonical, digest = read_pem(pem)
    return _create(
        owner,
        name,
        f"you already trust this {'certificate' if kind == 'cert' else 'key'}",
        kind=kind,
        pem=canonical,
        fingerprint=digest,
    )


def trust_user(owner, name: str, username: str) -> SigningKey:
    """Trust the keys and certificates ``username`` uploads (theirs only, not whom they trust)."""
    name = _name(name)
    other = User.objects.filter(username=username, is_active=True).first()
    if other is None:
        raise DomainError(f"no user called {username!r}", "unknown-user")
    if other.pk == owner.pk:
        raise DomainError("your own keys are trusted already", "self")
    return _create(
        owner, name, f"you already trust {username}'s keys", kind="user", trusted_user=other
    )


def remove(owner, key_id: str) -> SigningKey:
    """Stop trusting one entry; a 404 for anyone else's."""
    row = signing_keys_of(owner).filter(pk=key_id).first()
    if row is None:
        raise exceptions.NotFound("you have no signing key with that id")
    key_id = row.pk
    with transaction.atomic():
        audit.record("signing-key.remove", owner=owner, target=row, before=_shown(row))
        row.delete()
    row.pk = key_id  # the answer names what was removed
    return row


def _signers(owner) -> QuerySet[SigningKey]:
    people = SigningKey.objects.filter(owner=owner, kind="user").values("trusted_user")
    return SigningKey.objects.filter(
        Q(owner=owner) | Q(owner__in=people), kind__in=_SIGNERS
    ).order_by("time_created", "id")


def trusted_pems(owner) -> list[str]:
    """The PEM of every key and CA certificate ``owner`` trusts, theirs and the trusted users'."""
    return list(dict.fromkeys(_signers(owner).values_list("pem", flat=True)))


def trust_of(owner) -> Trust:
    """What ``owner`` trusts, to check signatures with (one query)."""
    return trust_from_pems(trusted_pems(owner))


def _name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100:
        raise DomainError("a signing key needs a name of 1 to 100 characters", "bad-name")
    return name


def _create(owner, name: str, taken: str, **fields) -> SigningKey:
    try:
        with transaction.atomic():
            row = SigningKey.objects.create(owner=owner, name=name, **fields)
            audit.record("signing-key.add", owner=owner, target=row, after=_shown(row))
            return row
    except IntegrityError:
        raise Conflict(taken, "already-trusted") from None


def _shown(row: SigningKey) -> dict:
    """What the audit log keeps of an entry (its fingerprint, not its PEM)."""
    user = row.trusted_user.username if row.trusted_user_id else None
    return {"name": row.name, "kind": row.kind, "fingerprint": row.fingerprint, "user": user}
