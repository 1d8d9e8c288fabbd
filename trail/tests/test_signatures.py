"""trail.signatures: pvs@2 signatures as pvr writes and checks them.

The compatibility tests build signatures by pvr's rules with nothing of
trail.signatures (only ``cryptography`` and the canonical JSON that
trail/tests/data/canonical-json.json pins), and check trail's signatures the
same way. pvr line numbers are of pantacor/pvr's libpvr/pvslib.go and
cmdsigadd.go at 09601ee1; glob rules of bmatcuk/doublestar v1.3.4 doublestar.go.
"""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from trail.canonical import canonical_json
from trail.signatures import Trust, part_match, sign, state_match, verify_state
from trail.signatures.glob import GlobError, glob_match
from trail.signatures.keys import new_development_key
from trail.signatures.pvs import Match, PvsError, select

SHA = {name: name[0] * 64 for name in "abcdef"}
STATE = {
    "#spec": "pantavisor-service-system@1",
    "bsp/run.json": {"linux": "kernel.img", "initrd": "pantavisor"},
    "bsp/kernel.img": "a" * 64,
    "bsp/src.json": {"#spec": "bsp-manifest-src@1"},
    "_config/bsp/etc/hostname": "b" * 64,
    "app/run.json": {"name": "app", "root-volume": "root.squashfs"},
    "app/root.squashfs": "c" * 64,
    "app/src.json": {"#spec": "service-manifest-src@1"},
    "_config/app/etc/app.conf": "d" * 64,
    "device.json": {"volumes": {}},
    "storage-mapping.json": {"app/root.squashfs": "c" * 64},
}
#: What `pvr sig add --part bsp` covers (cmdsigadd.go:61-86: bsp/**, _config/bsp/**,
#: minus bsp/src.json and _sigs/bsp.json), written out by hand.
BSP_COVERED = {"bsp/run.json", "bsp/kernel.img", "_config/bsp/etc/hostname"}
BSP_PVS = {
    "include": ["bsp/**", "_config/bsp/**"],
    "exclude": ["bsp/src.json", "_sigs/bsp.json"],
}
NOW = dt.datetime.now(dt.UTC)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def certificate(subject, key, issuer=None, issuer_key=None, ca=False, eku=True, days=30):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if eku:
        usage = ExtendedKeyUsageOID.CODE_SIGNING if eku is True else eku
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


@pytest.fixture(scope="module")
def ca():
    key = ec.generate_private_key(ec.SECP384R1())
    return key, certificate("Test Root CA", key, ca=True, eku=False)


@pytest.fixture(scope="module", params=["RS256", "ES256"])
def signer(request, ca):
    """A leaf key of each kind pvr signs with (pvslib.go:356-371), issued by the CA."""
    ca_key, ca_cert = ca
    if request.param == "RS256":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    leaf = certificate("Device Signer", key, issuer=ca_cert, issuer_key=ca_key)
    return request.param, key, leaf


def go_jwk(public) -> dict:
    """go-jose's JSONWebKey of a public key (member order of rawJSONWebKey)."""
    if isinstance(public, rsa.RSAPublicKey):
        numbers = public.public_numbers()
        n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        return {"kty": "RSA", "n": b64url(n), "e": b64url(numbers.e.to_bytes(3, "big"))}
    numbers = public.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
    }


def pvr_sign(state, covered, pvs, alg, key, chain) -> dict:
    """A signature as pvr's JwsSign makes it, by hand: the payload is the canonical
    JSON of the covered keys (pvslib.go:187, 422), the protected header Go's sorted
    map of alg, jwk (EmbedJWK, :389), pvs and typ PVS (:391-392) and x5c (:406),
    the payload stripped (:435) and "#spec": "pvs@2" added (:450)."""
    payload = canonical_json({k: state[k] for k in covered})
    header = {
        "alg": alg,
        "jwk": go_jwk(key.public_key()),
        "pvs": pvs,
        "typ": "PVS",
        "x5c": [
            base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode() for c in chain
        ],
    }
    protected = b64url(json.dumps(header, separators=(",", ":")).encode())
    signing_input = f"{protected}.{b64url(payload)}".encode()
    if alg == "RS256":
        raw = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    else:
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return {"#spec": "pvs@2", "protected": protected, "signature": b64url(raw)}


def pvr_verify(state, document, covered, ca_cert) -> None:
    """pvr's JwsVerifyPvs by hand: the x5c leaf must chain to the CA (pvslib.go:677-685)
    and the signature must hold over the recomputed payload (:667, :722)."""
    header = json.loads(b64url_decode(document["protected"]))
    assert document["#spec"] == "pvs@2" and "payload" not in document
    assert header["typ"] == "PVS"
    leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    ca_cert.public_key().verify(
        leaf.signature, leaf.tbs_certificate_bytes, ec.ECDSA(leaf.signature_hash_algorithm)
    )
    payload = canonical_json({k: state[k] for k in covered})
    signing_input = f"{document['protected']}.{b64url(payload)}".encode()
    raw = b64url_decode(document["signature"])
    public = leaf.public_key()
    if header["alg"] == "RS256":
        public.verify(raw, signing_input, padding.PKCS1v15(), hashes.SHA256())
    else:
        assert header["alg"] == "ES256"
        der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
        public.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))


def with_sig(state, name, document):
    return {**state, f"_sigs/{name}.json": document}


# --- compatibility with pvr --------------------------------------------------------


def test_it_verifies_a_signature_made_by_pvrs_rules(signer, ca):
    alg, key, leaf = signer
    document = pvr_sign(STATE, BSP_COVERED, BSP_PVS, alg, key, [leaf])
    report = verify_state(with_sig(STATE, "bsp", document), Trust(certs=(ca[1],)))

    [check] = report.signatures
    assert (check.key, check.status, check.signer) == ("_sigs/bsp.json", "ok", "CN=Device Signer")
    assert set(check.covers) == BSP_COVERED


def test_it_signs_what_pvrs_rules_verify(signer, ca):
    alg, key, leaf = signer
    document = sign(STATE, part_match("bsp"), key, [leaf])

    header = json.loads(b64url_decode(document["protected"]))
    assert header["alg"] == alg and header["pvs"] == BSP_PVS
    assert list(header) == ["alg", "jwk", "pvs", "typ", "x5c"]  # Go's sorted map
    assert header["jwk"] == go_jwk(key.public_key())
    pvr_verify(with_sig(STATE, "bsp", document), document, BSP_COVERED, ca[1])


def test_it_covers_with_a_part_what_pvr_sig_add_part_covers():
    """cmdsigadd.go:61-86: includes and excludes joined to the part, _sigs/<part>.json
    excluded, _config/<part>/** included unless --noconfig."""
    assert part_match("bsp").as_json() == BSP_PVS
    assert part_match("bsp", config=False).as_json() == {
        "include": ["bsp/**"],
        "exclude": ["bsp/src.json", "_sigs/bsp.json"],
    }
    assert set(select(STATE, part_match("bsp")).covered) == BSP_COVERED


def test_it_selects_as_pvrs_select_payload():
    """pvslib.go:138-173: included by any include glob, unless any exclude glob matches."""
    match = Match(("**",), ("**/src.json", "_sigs/all.json"))
    selection = select(STATE, match)
    assert set(selection.covered) == set(STATE) - {"bsp/src.json", "app/src.json"}
    assert selection.excluded == ("app/src.json", "bsp/src.json")
    assert select(STATE, Match(("*",), ())).covered == (
        "#spec",
        "device.json",
        "storage-mapping.json",
    )


@pytest.mark.parametrize(
    "pattern, key, matches",
    [
        ("**", "#spec", True),
        ("**", "bsp/a/b.json", True),
        ("*", "device.json", True),
        ("*", "bsp/run.json", False),  # * stays inside a segment
        ("bsp/**", "bsp/run.json", True),
        ("bsp/**", "bsp/a/b", True),
        ("bsp/**", "bsp", False),  # a final ** needs a segment (doublestar.go:313-325)
        ("**/src.json", "src.json", True),  # ** before / may be no segment (:299-305)
        ("**/src.json", "app/x/src.json", True),
        ("a/**/b", "a/b", True),
        ("**.json", "a/b.json", False),  # ** inside a segment is two *
        ("app?/run.json", "app1/run.json", True),
        ("app?/run.json", "app/run.json", False),
        ("[ab]pp/*", "app/x", True),
        ("[^ab]pp/*", "app/x", False),
        ("[a-c]*", "bsp", True),
        ("{bsp,app}/run.json", "app/run.json", True),
        ("{bsp,app}/run.json", "pv/run.json", False),
        ("\\*", "*", True),
        ("\\*", "a", False),
    ],
)
def test_it_matches_globs_as_doublestar_v1(pattern, key, matches):
    """pvr matches with doublestar.Match (pvslib.go:139, :154), v1.3.4 (go.mod:10)."""
    assert glob_match(pattern, key) is matches


@pytest.mark.parametrize("pattern", ["[]", "[a", "{a,b", "a\\", "[-a]", "{a/b,c}"])
def test_it_refuses_malformed_globs(pattern):
    with pytest.raises(GlobError):
        glob_match(pattern, "a")
    with pytest.raises(PvsError):
        Match((pattern,), ())


# --- what the report says ----------------------------------------------------------


@pytest.fixture(scope="module")
def dev():
    return new_development_key("ec", "dev")


def signed(dev):
    key, cert = dev
    state = with_sig(STATE, "bsp", sign(STATE, part_match("bsp"), key, [cert]))
    return with_sig(state, "app", sign(state, part_match("app"), key, [cert]))


def test_it_lists_the_keys_no_signature_covers(dev):
    report = verify_state(signed(dev), Trust(certs=(dev[1],)))

    assert [c.status for c in report.signatures] == ["ok", "ok"]
    assert report.uncovered == (
        "app/src.json",
        "bsp/src.json",
        "device.json",
        "storage-mapping.json",
    )
    assert report.signed_by["bsp/kernel.img"] == ("_sigs/bsp.json",)
    assert not report.clean


def test_it_shows_an_added_key_as_uncovered(dev):
    state = {**signed(dev), "extra/new.bin": "e" * 64}
    report = verify_state(state, Trust(certs=(dev[1],)))

    assert "extra/new.bin" in report.uncovered
    assert [c.status for c in report.signatures] == ["ok", "ok"]


def test_it_fails_a_signature_when_any_covered_key_changes(dev):
    state = signed(dev)
    trust = Trust(certs=(dev[1],))
    for check in verify_state(state, trust).signatures:
        for key in check.covers:
            tampered = {**state, key: "f" * 64 if isinstance(state[key], str) else {"x": 1}}
            report = verify_state(tampered, trust)
            statuses = {c.key: c.status for c in report.signatures}
            assert statuses[check.key] == "bad-signature", key
            assert [s for k, s in statuses.items() if k != check.key] == ["ok"], key
            assert key in report.uncovered


def test_it_fails_a_signature_when_a_covered_key_is_removed_or_added(dev):
    state = signed(dev)
    trust = Trust(certs=(dev[1],))
    without = {k: v for k, v in state.items() if k != "bsp/kernel.img"}
    added = {**state, "bsp/new.img": "e" * 64}
    for changed in (without, added):
        statuses = {c.key: c.status for c in verify_state(changed, trust).signatures}
        assert statuses == {"_sigs/app.json": "ok", "_sigs/bsp.json": "bad-signature"}


def test_it_names_the_changed_keys_when_the_signature_carries_its_payload(dev):
    key, cert = dev
    state = with_sig(STATE, "bsp", sign(STATE, part_match("bsp"), key, [cert], with_payload=True))
    state["bsp/run.json"] = {"linux": "evil.img"}

    [check] = verify_state(state, Trust(certs=(cert,))).signatures
    assert (check.status, check.changed) == ("changed", ("bsp/run.json",))
    assert "bsp/run.json" in check.reason


def test_it_fails_a_signer_nobody_trusts(dev, ca):
    other = new_development_key("ec", "someone else")
    report = verify_state(signed(dev), Trust(certs=(other[1],)))

    assert [c.status for c in report.signatures] == ["untrusted", "untrusted"]
    assert "bsp/kernel.img" in report.uncovered


def test_it_trusts_a_public_key_given_directly(dev):
    report = verify_state(signed(dev), Trust(keys=(dev[0].public_key(),)))
    assert [c.status for c in report.signatures] == ["ok", "ok"]


def test_it_reports_intact_signatures_as_unchecked_without_trust(dev):
    report = verify_state(signed(dev))

    assert [c.status for c in report.signatures] == ["unchecked", "unchecked"]
    assert "bsp/kernel.img" not in report.uncovered
    assert not report.clean


def test_it_refuses_a_chain_whose_leaf_is_not_for_code_signing(ca):
    """pvr asks Go's x509 for ExtKeyUsageCodeSigning (pvslib.go:673-681)."""
    ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = certificate("Web Server", key, ca_cert, ca_key, eku=ExtendedKeyUsageOID.SERVER_AUTH)
    state = with_sig(STATE, "bsp", sign(STATE, part_match("bsp"), key, [leaf]))

    [check] = verify_state(state, Trust(certs=(ca_cert,))).signatures
    assert check.status == "untrusted" and "code signing" in check.reason


def test_it_refuses_an_expired_certificate(ca):
    ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = certificate("Old Signer", key, ca_cert, ca_key)
    state = with_sig(STATE, "bsp", sign(STATE, part_match("bsp"), key, [leaf]))

    later = NOW + dt.timedelta(days=60)
    [check] = verify_state(state, Trust(certs=(ca_cert,)), now=later).signatures
    assert check.status == "untrusted"


@pytest.mark.parametrize(
    "value, why",
    [
        ("not an object", "JSON object"),
        ({"#spec": "pvs@1", "protected": "e30", "signature": ""}, "pvs@2"),
        ({"#spec": "pvs@2", "signature": "AA"}, "protected"),
        ({"#spec": "pvs@2", "protected": b64url(b'{"alg":"HS256"}'), "signature": "AA"}, "alg"),
        ({"#spec": "pvs@2", "protected": b64url(b'{"alg":"ES256"}'), "signature": "AA"}, "pvs"),
    ],
)
def test_it_reports_a_malformed_signature(dev, value, why):
    state = {**signed(dev), "_sigs/bad.json": value}
    checks = {c.key: c for c in verify_state(state, Trust(certs=(dev[1],))).signatures}

    assert checks["_sigs/bad.json"].status == "malformed"
    assert why in checks["_sigs/bad.json"].reason
    assert checks["_sigs/bsp.json"].status == "ok"


def test_it_signs_the_whole_state_but_the_signatures(dev):
    key, cert = dev
    match = state_match("all")
    state = with_sig(STATE, "all", sign(STATE, match, key, [cert]))
    state = with_sig(state, "bsp", sign(state, part_match("bsp"), key, [cert]))

    report = verify_state(state, Trust(certs=(cert,)))
    assert [c.status for c in report.signatures] == ["ok", "ok"]
    assert report.uncovered == ()
    assert report.clean
