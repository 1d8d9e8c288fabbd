"""A device that requires signatures takes only revisions its owner's trusted signers
signed (revisions/services/steps.py, trail/signatures/rule.py): whatever posts them,
the API, a fork, a roll-back or a replaced state, and nothing is stored otherwise."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization

from community import services as community
from portal import signing_keys
from portal.errors import DomainError
from revisions.models import Step, Trail
from revisions.services import meets_rule, post_step, replace_state
from trail.signatures import sign, state_match
from trail.signatures.keys import certificate_pem, new_development_key

pytestmark = pytest.mark.django_db

SPEC = "pantavisor-service-system@1"
STATE = {
    "#spec": SPEC,
    "bsp/run.json": {"addons": [], "initrd": "pantavisor"},
    "app/run.json": {"name": "app"},
}


@pytest.fixture(scope="module")
def signer():
    return new_development_key("ec", "release signer")


def signed(state: dict, signer, name: str = "all") -> dict:
    key, cert = signer
    return {**state, f"_sigs/{name}.json": sign(state, state_match(name), key, [cert])}


def public_pem(signer) -> str:
    return (
        signer[0]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture
def strict(device, trail_of):
    """Alice's device, requiring signatures, with its factory revision 0."""
    trail_of(device, {"#spec": SPEC})
    device.require_signatures = True
    device.save(update_fields=["require_signatures"])
    return device


def post(api, owner, device, state):
    body = {"commit-msg": "test", "state": state}
    return api.as_(owner).post(f"/trails/{device.id}/steps", body, format="json")


def revisions_of(device) -> list[int]:
    return list(Step.objects.filter(trail_id=device.id).values_list("rev", flat=True))


def test_it_refuses_an_unsigned_state_and_stores_nothing(api, owner, strict, signer):
    signing_keys.add_pem(owner, "release", public_pem(signer))

    answer = post(api, owner, strict, STATE)

    assert answer.status_code == 422, answer.json()
    body = answer.json()
    assert body["code"] == "unsigned"
    assert body["uncovered"] == ["app/run.json", "bsp/run.json"]
    assert body["failing"] == []
    assert "app/run.json" in body["error"]
    assert revisions_of(strict) == [0]
    assert Trail.objects.get(pk=strict.id).head_rev == 0
    # The number was not taken: the next good post is revision 1.
    assert post(api, owner, strict, signed(STATE, signer)).json()["rev"] == 1


def test_it_takes_a_state_signed_by_a_trusted_public_key(api, owner, strict, signer):
    signing_keys.add_pem(owner, "release", public_pem(signer))

    answer = post(api, owner, strict, signed(STATE, signer))

    assert answer.status_code == 200, answer.json()
    assert revisions_of(strict) == [0, 1]


def test_it_takes_a_state_signed_under_a_trusted_ca(api, owner, strict, signer):
    signing_keys.add_pem(owner, "ca", certificate_pem([signer[1]]).decode())

    assert post(api, owner, strict, signed(STATE, signer)).status_code == 200


def test_it_takes_keys_of_a_trusted_user_as_they_change(api, owner, outsider, strict, signer):
    signing_keys.trust_user(owner, "bob", outsider.username)
    assert post(api, owner, strict, signed(STATE, signer)).status_code == 422

    bobs = signing_keys.add_pem(outsider, "bob's signer", public_pem(signer))
    assert post(api, owner, strict, signed(STATE, signer)).status_code == 200

    signing_keys.remove(outsider, bobs.id)
    assert post(api, owner, strict, signed(STATE, signer)).status_code == 422


def test_it_refuses_a_state_signed_by_an_untrusted_key(api, owner, strict, signer):
    signing_keys.add_pem(owner, "other", public_pem(new_development_key("ec", "other")))

    body = post(api, owner, strict, signed(STATE, signer)).json()

    assert body["code"] == "unsigned"
    assert body["uncovered"] == ["app/run.json", "bsp/run.json"]
    assert [(f["signature"], f["status"]) for f in body["failing"]] == [
        ("_sigs/all.json", "untrusted")
    ]


def test_it_refuses_a_state_changed_after_signing(api, owner, strict, signer):
    signing_keys.add_pem(owner, "release", public_pem(signer))
    tampered = {**signed(STATE, signer), "app/run.json": {"name": "evil"}}

    body = post(api, owner, strict, tampered).json()

    assert body["failing"][0]["status"] == "bad-signature"
    assert "changed since it was signed" in body["failing"][0]["reason"]
    assert revisions_of(strict) == [0]


def test_it_refuses_a_key_added_after_signing(api, owner, strict, signer):
    signing_keys.add_pem(owner, "release", public_pem(signer))
    grown = {**signed(STATE, signer, name="bsp"), "extra.json": {}}

    body = post(api, owner, strict, grown).json()

    # The whole-state signature covered what it signed; the new key is nobody's.
    assert "extra.json" in body["uncovered"]


def test_it_refuses_everything_when_the_owner_trusts_nobody(api, owner, strict, signer):
    body = post(api, owner, strict, signed(STATE, signer)).json()

    assert body["code"] == "unsigned"
    assert "no signing keys" in body["error"]
    assert body["uncovered"] == ["app/run.json", "bsp/run.json"]


def test_it_checks_nothing_on_a_device_that_does_not_require_signatures(
    api, owner, device, trail_of
):
    trail_of(device, {"#spec": SPEC})

    assert post(api, owner, device, STATE).status_code == 200


def test_it_refuses_an_unsigned_fork_into_a_strict_device(
    owner, outsider, make_device, trail_of, strict, signer
):
    upstream = make_device(outsider, nick="upstream", public=True)
    trail = trail_of(upstream, {"#spec": SPEC})
    source = post_step(trail, STATE, author=outsider)

    with pytest.raises(DomainError) as refused:
        community.fork(owner, upstream, source, into=strict)

    assert refused.value.code == "unsigned"
    assert revisions_of(strict) == [0]


def test_it_refuses_a_roll_back_to_an_unsigned_revision(owner, strict, signer):
    strict.require_signatures = False
    strict.save(update_fields=["require_signatures"])
    trail = Trail.objects.get(pk=strict.id)
    old = post_step(trail, STATE, author=owner)
    Step.objects.filter(pk=old.pk).update(status="DONE")
    old.refresh_from_db()
    strict.require_signatures = True
    strict.save(update_fields=["require_signatures"])

    with pytest.raises(DomainError) as refused:
        community.roll_back(owner, strict, old)

    assert refused.value.code == "unsigned"
    assert revisions_of(strict) == [0, 1]


def test_it_refuses_to_replace_a_new_state_by_an_unsigned_one(owner, strict, signer):
    signing_keys.add_pem(owner, "release", public_pem(signer))
    step = post_step(Trail.objects.get(pk=strict.id), signed(STATE, signer), author=owner)

    with pytest.raises(DomainError) as refused:
        replace_state(step, STATE)

    assert refused.value.code == "unsigned"
    step.refresh_from_db()
    assert "_sigs/all.json" in step.state


def test_the_owner_sets_the_rule_with_patch(api, owner, device):
    answer = api.as_(owner).patch(
        f"/devices/{device.id}", {"require-signatures": True}, format="json"
    )

    assert answer.status_code == 200, answer.json()
    assert answer.json()["require-signatures"] is True
    device.refresh_from_db()
    assert device.require_signatures is True


def test_the_owner_sets_the_rule_on_the_settings_page(client, owner, device):
    client.force_login(owner)
    page = f"/u/{owner.username}/{device.nick}/settings/"
    assert "Require signatures" in client.get(page).content.decode()

    body = {"nick": device.nick, "description": "", "require_signatures": "on"}
    assert client.post(page, body).status_code == 302

    device.refresh_from_db()
    assert device.require_signatures is True


def test_the_device_reads_the_rule_and_the_trusted_pems(api, owner, outsider, strict, signer):
    signing_keys.add_pem(owner, "release", public_pem(signer))

    mine = api.as_(strict).get(f"/devices/{strict.id}").json()

    assert mine["require-signatures"] is True
    assert mine["trusted-signers"] == [public_pem(signer)]
    strict.public = True
    strict.save(update_fields=["public"])
    assert "trusted-signers" not in api.as_(outsider).get(f"/devices/{strict.id}").json()


def test_meets_rule_answers_none_for_a_device_without_a_rule(device):
    assert meets_rule(device, STATE) is None


def test_meets_rule_names_what_breaks_the_rule_without_storing_anything(owner, strict, signer):
    signing_keys.add_pem(owner, "release", public_pem(signer))
    tampered = {**signed(STATE, signer, name="bsp"), "extra.json": {}}

    verdict = meets_rule(strict, tampered)
    good = meets_rule(strict, signed(STATE, signer))

    assert verdict is not None and not verdict.met
    assert "extra.json" in verdict.uncovered
    assert good is not None and good.met
    assert revisions_of(strict) == [0]
