"""Signing keys (``/auth/signing-keys`` and Account › Signing keys): public keys and CA
certificates kept with their fingerprint, other users' keys trusted by reference, private
keys and anything malformed refused and never stored."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from portal import signing_keys
from portal.models import SigningKey
from trail.signatures.keys import certificate_pem, new_development_key, private_key_pem

pytestmark = pytest.mark.django_db


def public_pem(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def spki_sha256(key) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


@pytest.fixture(scope="module")
def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def add(api, person, **body):
    return api.as_(person).post("/auth/signing-keys", body, format="json")


def test_it_keeps_a_public_key_with_its_spki_fingerprint(api, owner, ec_key):
    answer = add(api, owner, name="release", pem="junk before\n" + public_pem(ec_key))

    assert answer.status_code == 201, answer.json()
    made = answer.json()
    assert made["kind"] == "key"
    assert made["fingerprint"] == spki_sha256(ec_key)
    assert made["pem"] == public_pem(ec_key)
    assert made["user"] is None
    listed = api.as_(owner).get("/auth/signing-keys").json()
    assert [(k["id"], k["name"]) for k in listed] == [(made["id"], "release")]


def test_it_keeps_a_ca_certificate_with_its_key_fingerprint(api, owner):
    key, cert = new_development_key("rsa", "Release CA")

    made = add(api, owner, name="ca", pem=certificate_pem([cert]).decode()).json()

    assert made["kind"] == "cert"
    assert made["fingerprint"] == spki_sha256(key)


def test_it_refuses_a_private_key_and_stores_nothing(api, owner, ec_key):
    pem = private_key_pem(ec_key).decode()

    answer = add(api, owner, name="oops", pem=pem)

    assert answer.status_code == 400
    assert answer.json()["code"] == "private-key"
    assert not SigningKey.objects.exists()
    # Nor hidden behind a public key in the same paste.
    both = add(api, owner, name="oops", pem=public_pem(ec_key) + pem)
    assert both.json()["code"] == "private-key"
    assert not SigningKey.objects.exists()


@pytest.mark.parametrize(
    "pem",
    [
        "not a pem",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    ],
)
def test_it_refuses_a_malformed_pem(api, owner, pem):
    answer = add(api, owner, name="bad", pem=pem)

    assert answer.status_code == 400
    assert answer.json()["code"] == "bad-pem"
    assert not SigningKey.objects.exists()


def test_it_refuses_two_keys_in_one_entry(api, owner, ec_key):
    other = ec.generate_private_key(ec.SECP256R1())

    answer = add(api, owner, name="two", pem=public_pem(ec_key) + public_pem(other))

    assert answer.json()["code"] == "bad-pem"


def test_it_refuses_a_key_pvr_cannot_sign_with(api, owner):
    answer = add(api, owner, name="p521", pem=public_pem(ec.generate_private_key(ec.SECP521R1())))

    assert answer.json()["code"] == "bad-pem"
    assert "P-256" in answer.json()["error"]


def test_it_refuses_the_same_key_twice(api, owner, ec_key):
    add(api, owner, name="one", pem=public_pem(ec_key))

    answer = add(api, owner, name="two", pem=public_pem(ec_key))

    assert answer.status_code == 409
    assert answer.json()["code"] == "already-trusted"


def test_it_trusts_another_users_keys_as_they_change(api, owner, outsider, ec_key):
    answer = add(api, owner, name="bob", user=outsider.username)
    assert answer.status_code == 201, answer.json()
    assert answer.json()["kind"] == "user" and answer.json()["user"] == outsider.username
    assert not signing_keys.trust_of(owner)

    bobs = signing_keys.add_pem(outsider, "bob's", public_pem(ec_key))
    assert signing_keys.trusted_pems(owner) == [public_pem(ec_key)]

    signing_keys.remove(outsider, bobs.id)
    assert signing_keys.trusted_pems(owner) == []


def test_it_does_not_trust_whom_a_trusted_user_trusts(owner, outsider, make_user, ec_key):
    carol = make_user("carol")
    signing_keys.trust_user(owner, "bob", outsider.username)
    signing_keys.trust_user(outsider, "carol", carol.username)
    signing_keys.add_pem(carol, "carol's", public_pem(ec_key))

    assert signing_keys.trusted_pems(owner) == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "x", "user": "nobody-here"}, "unknown-user"),
        ({"name": "x"}, "pem-or-user"),
        ({"name": "x", "user": "alice", "pem": "x"}, "pem-or-user"),
    ],
)
def test_it_refuses_a_bad_trust(api, owner, body, code):
    assert add(api, owner, **body).json()["code"] == code


def test_it_refuses_to_trust_yourself(api, owner):
    assert add(api, owner, name="me", user=owner.username).json()["code"] == "self"


def test_it_removes_only_your_own(api, owner, outsider, ec_key):
    made = add(api, owner, name="release", pem=public_pem(ec_key)).json()

    assert api.as_(outsider).delete(f"/auth/signing-keys/{made['id']}").status_code == 404
    answer = api.as_(owner).delete(f"/auth/signing-keys/{made['id']}")

    assert answer.status_code == 200 and answer.json()["id"] == made["id"]
    assert not SigningKey.objects.exists()


def test_the_page_adds_lists_and_removes(client, owner):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    client.force_login(owner)

    added = client.post(
        "/accounts/signing-keys/", {"name": "release", "pem": public_pem(key), "user": ""}
    )
    assert added.status_code == 302
    page = client.get("/accounts/signing-keys/").content.decode()
    assert "release" in page and spki_sha256(key)[:17] in page

    row = SigningKey.objects.get()
    assert client.post(f"/accounts/signing-keys/{row.id}/remove/").status_code == 302
    assert not SigningKey.objects.exists()


def test_the_page_refuses_a_private_key_on_its_field(client, owner, ec_key):
    client.force_login(owner)

    answer = client.post(
        "/accounts/signing-keys/",
        {"name": "oops", "pem": private_key_pem(ec_key).decode(), "user": ""},
    )

    assert answer.status_code == 200
    assert "that is a private key" in answer.content.decode()
    assert not SigningKey.objects.exists()
