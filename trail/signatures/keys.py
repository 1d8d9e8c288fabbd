"""Keys and certificates for pvs signatures: reading PEM files, development keys,
and whether a certificate chain leads to a trusted one.

pvr reads the first PEM block whose type holds ``PRIVATE KEY`` (PKCS#1, PKCS#8
or SEC1), every ``CERTIFICATE`` block of a chain or CA file, and every block
whose type starts with ``PUBLIC `` of a public-key file; so do we.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    VerificationError,
)

__all__ = [
    "KeyFileError",
    "PrivateKey",
    "PublicKey",
    "algorithm_for",
    "certificate_pem",
    "chain_leads_to",
    "describe_certificate",
    "load_certificates",
    "load_private_key",
    "load_public_keys",
    "new_development_key",
    "private_key_pem",
    "same_key",
]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

_PEM = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", re.DOTALL)

#: The JWS algorithm pvr picks for each key (libpvr/pvslib.go, JwsSign): RS256 for
#: RSA, ES256 / ES384 by the curve's size. P-521 has 521 bits, which pvr's
#: ``case 512`` never meets, so pvr cannot sign with it and neither do we.
_EC_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384"}


class KeyFileError(ValueError):
    """A key or certificate file that cannot be used, with what is wrong with it."""


def _blocks(data: bytes) -> list[tuple[str, bytes]]:
    return [(m.group(1).decode(), m.group(0)) for m in _PEM.finditer(data)]


def load_private_key(data: bytes, where: str = "the key file") -> PrivateKey:
    """The first private key of a PEM file (unencrypted)."""
    for kind, block in _blocks(data):
        if "PRIVATE KEY" not in kind:
            continue
        try:
            key = serialization.load_pem_private_key(block, password=None)
        except (ValueError, TypeError) as exc:
            raise KeyFileError(f"{where}: cannot read the private key: {exc}") from None
        if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            algorithm_for(key.public_key())
            return key
        raise KeyFileError(f"{where}: {type(key).__name__} keys are not supported: use RSA or EC")
    raise KeyFileError(f"{where} holds no PEM private key")


def load_certificates(data: bytes, where: str = "the certificate file") -> list[x509.Certificate]:
    """Every certificate of a PEM file, in order (a chain: leaf first)."""
    certs = []
    for kind, block in _blocks(data):
        if kind != "CERTIFICATE":
            continue
        try:
            certs.append(x509.load_pem_x509_certificate(block))
        except ValueError as exc:
            raise KeyFileError(f"{where}: cannot read a certificate: {exc}") from None
    if not certs:
        raise KeyFileError(f"{where} holds no PEM certificate")
    return certs


def load_public_keys(data: bytes, where: str = "the public key file") -> list[PublicKey]:
    """Every RSA or EC public key of a PEM file (``PUBLIC KEY`` or ``RSA PUBLIC KEY``)."""
    keys: list[PublicKey] = []
    for kind, block in _blocks(data):
        if not kind.startswith("PUBLIC ") and not kind.endswith(" PUBLIC KEY"):
            continue
        try:
            key = serialization.load_pem_public_key(block)
        except (ValueError, TypeError) as exc:
            raise KeyFileError(f"{where}: cannot read a public key: {exc}") from None
        if isinstance(key, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
            keys.append(key)
    if not keys:
        raise KeyFileError(f"{where} holds no PEM RSA or EC public key")
    return keys


def algorithm_for(key: PublicKey) -> str:
    """The JWS ``alg`` pvr signs with for ``key``."""
    if isinstance(key, rsa.RSAPublicKey):
        return "RS256"
    alg = _EC_ALGORITHMS.get(key.curve.name)
    if alg is None:
        raise KeyFileError(f"EC curve {key.curve.name} is not supported: use P-256 or P-384")
    return alg


def same_key(a: PublicKey, b: PublicKey) -> bool:
    """Whether two public keys are the same key."""
    der = serialization.Encoding.DER
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return a.public_bytes(der, spki) == b.public_bytes(der, spki)


def describe_certificate(cert: x509.Certificate) -> str:
    """How a signer is named to a person: its certificate's subject."""
    return cert.subject.rfc4514_string() or f"serial {cert.serial_number:x}"


def chain_leads_to(
    chain: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    now: dt.datetime | None = None,
) -> str | None:
    """Why the chain ``chain`` (leaf first) does not lead to one of ``roots``, or None.

    The rules of pvr's check (Go's ``x509.Verify`` with the CA file as roots and
    code signing as the key usage): signatures along the chain, validity dates,
    issuers that are CAs, and an extended key usage, where a certificate has
    one, that allows code signing. A root may be the leaf itself.
    """
    if not chain:
        return "the signature has no x5c certificate chain"
    if not roots:
        return "no trusted CA certificates"
    policy = (
        PolicyBuilder()
        .store(Store(list(roots)))
        .time(now or dt.datetime.now(dt.UTC))
        .extension_policies(
            ca_policy=ExtensionPolicy.permit_all()
            .require_present(x509.BasicConstraints, Criticality.AGNOSTIC, None)
            .may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, _code_signing),
            ee_policy=ExtensionPolicy.permit_all().may_be_present(
                x509.ExtendedKeyUsage, Criticality.AGNOSTIC, _code_signing
            ),
        )
    )
    try:
        policy.build_client_verifier().verify(chain[0], list(chain[1:]))
    except VerificationError as exc:
        return f"the x5c chain does not lead to a trusted CA: {exc}"
    return None


def _code_signing(
    policy: Policy, cert: x509.Certificate, usage: x509.ExtendedKeyUsage | None
) -> None:
    allowed = {ExtendedKeyUsageOID.CODE_SIGNING, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE}
    if usage is not None and not allowed & set(usage):
        raise ValueError(f"{describe_certificate(cert)} is not for code signing")


def new_development_key(
    kind: str = "ec", common_name: str = "trail development signer", days: int = 365
) -> tuple[PrivateKey, x509.Certificate]:
    """A new key (``ec``: P-256 for ES256, ``rsa``: 3072 bits for RS256) and a
    self-signed certificate for code signing, which is its own CA file."""
    key: PrivateKey
    if kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    elif kind == "ec":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        raise KeyFileError(f"unknown key type {kind!r}: use ec or rsa")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def private_key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def certificate_pem(certs: Sequence[x509.Certificate]) -> bytes:
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certs)
