"""trail.signatures.summary: who signed which part of a state, as the hub's revision
page shows it (a badge per platform and one for the rest) and as it stores a
revision's ``signed`` flag. Signatures are made as ``trail sig add`` (and pvr's
``sig add --part``, cmdsigadd.go) makes them."""

from __future__ import annotations

import pytest

from trail.signatures import Trust, part_match, sign, state_match
from trail.signatures.keys import new_development_key
from trail.signatures.summary import is_signed, part_of, summarize

STATE = {
    "#spec": "pantavisor-service-system@1",
    "bsp/run.json": {"linux": "kernel.img", "initrd": "pantavisor"},
    "bsp/kernel.img": "a" * 64,
    "_config/bsp/etc/hostname": "b" * 64,
    "app/run.json": {"name": "app", "root-volume": "root.squashfs"},
    "app/root.squashfs": "c" * 64,
    "device.json": {"volumes": {}},
}


@pytest.fixture(scope="module")
def dev():
    return new_development_key("ec", "release")


@pytest.fixture(scope="module")
def other():
    return new_development_key("ec", "someone else")


def with_parts(state, signer, parts=("bsp", "app"), rest=True):
    key, cert = signer
    for part in parts:
        state = {**state, f"_sigs/{part}.json": sign(state, part_match(part), key, [cert])}
    if rest:
        match = state_match("rest", include=["device.json"])
        state = {**state, "_sigs/rest.json": sign(state, match, key, [cert])}
    return state


def by_part(parts):
    return {p.part: p for p in parts}


def test_a_key_belongs_to_its_top_level_directory_or_to_the_rest():
    assert part_of("app/root.squashfs") == "app"
    assert part_of("_config/bsp/etc/hostname") == "bsp"
    assert part_of("device.json") == ""
    assert part_of("#spec") is None
    assert part_of("_sigs/app.json") is None


def test_every_part_signed_by_a_trusted_signer(dev):
    parts = summarize(with_parts(STATE, dev), Trust(certs=(dev[1],)))

    assert [p.part for p in parts] == ["app", "bsp", ""]  # the rest last
    assert all(p.status == "signed" and p.trusted for p in parts)
    assert by_part(parts)["app"].signers == ("CN=release",)
    assert by_part(parts)["bsp"].signatures == ("_sigs/bsp.json",)


def test_a_signer_the_owner_does_not_trust_still_signed_it_but_untrusted(dev, other):
    parts = by_part(summarize(with_parts(STATE, dev), Trust(certs=(other[1],))))

    assert parts["app"].status == "signed"
    assert parts["app"].trusted is False
    assert parts["app"].signers == ("CN=release",)


def test_without_trust_intact_signatures_sign_but_trust_nothing(dev):
    parts = summarize(with_parts(STATE, dev))

    assert {p.status for p in parts} == {"signed"}
    assert not any(p.trusted for p in parts)
    assert is_signed(with_parts(STATE, dev))


def test_an_unsigned_part_names_its_keys(dev):
    state = with_parts(STATE, dev, parts=("bsp",), rest=False)
    parts = by_part(summarize(state, Trust(certs=(dev[1],))))

    assert parts["bsp"].status == "signed"
    assert parts["app"].status == "unsigned"
    assert parts["app"].uncovered == ("app/root.squashfs", "app/run.json")
    assert "not signed: app/root.squashfs, app/run.json" in parts["app"].reason
    assert parts[""].status == "unsigned"
    assert not is_signed(state)


def test_a_part_changed_after_signing_is_unsigned_and_the_others_stay_signed(dev):
    """A fork that changes one platform keeps the other platforms' signatures."""
    state = {**with_parts(STATE, dev), "app/run.json": {"name": "app2"}}
    parts = by_part(summarize(state, Trust(certs=(dev[1],))))

    assert parts["bsp"].status == "signed" and parts["bsp"].trusted
    assert parts[""].status == "signed"
    assert parts["app"].status == "unsigned"
    assert "_sigs/app.json no longer matches" in parts["app"].reason
    assert not is_signed(state)


def test_a_malformed_signature_makes_its_part_invalid(dev):
    state = {**with_parts(STATE, dev), "_sigs/app.json": {"#spec": "pvs@2", "protected": 1}}
    parts = by_part(summarize(state))

    assert parts["app"].status == "invalid"
    assert parts["app"].reason.startswith("_sigs/app.json: ")
    assert parts["bsp"].status == "signed"


def test_a_state_with_nothing_but_its_spec_is_not_signed():
    assert not is_signed({"#spec": "pantavisor-service-system@1"})
