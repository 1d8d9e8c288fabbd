"""A pack that requires signatures (issue 23 item 3, docs/signing.md): its leader and
its followers take only revisions signed by a signer the owner trusts. The rule is the
devices' own (devices.signing, enforced in revisions.services.signing); packs only say
which devices it applies to, so a delivery of an unsigned revision fails as any refused
post does, with the reason on the rollout (API) and the pack's page."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization

from devices.signing import requires_signatures
from packs import rollout as ro
from packs import services
from packs.forms import PackForm
from packs.models import Delivery, Rollout
from packs.services import rollouts
from packs.tests.helpers import revs, state
from portal import signing_keys
from portal.errors import DomainError
from revisions import services as revisions
from revisions.models import Trail
from trail.signatures import sign, state_match
from trail.signatures.keys import new_development_key

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def signer():
    return new_development_key("ec", "release signer")


@pytest.fixture
def trusted(owner, signer):
    pem = (
        signer[0]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    signing_keys.add_pem(owner, "release", pem)
    return signer


def signed(version, signer) -> dict:
    body = state(version)
    key, cert = signer
    return {**body, "_sigs/all.json": sign(body, state_match("all"), key, [cert])}


def post_state(committed, device, body):
    trail = Trail.objects.select_related("device__owner").get(pk=device.id)
    return committed(revisions.post_step, trail, body, author=device.owner)


def test_it_requires_signatures_of_the_leader_and_the_followers(
    leader, make_member, make_pack, trusted
):
    follower, outside = make_member("f1"), make_member("loner")
    pack = make_pack(leader, [follower], require_signatures=True)

    assert requires_signatures(leader) and requires_signatures(follower)
    assert not requires_signatures(outside)
    assert pack.require_signatures is True


def test_the_leaders_unsigned_post_is_refused_naming_the_pack(
    leader, make_member, make_pack, committed, trusted
):
    make_pack(leader, [make_member("f1")], nick="kiosks", require_signatures=True)

    with pytest.raises(DomainError) as refused:
        post_state(committed, leader, state(1))

    assert refused.value.code == "unsigned"
    assert refused.value.status_code == 422
    assert "pack kiosks requires signatures" in refused.value.message
    assert "app/config.json" in refused.value.message
    assert revs(leader) == [0]


def test_a_signed_release_reaches_every_follower(
    leader, make_member, make_pack, committed, trusted
):
    followers = [make_member("f1"), make_member("f2")]
    make_pack(leader, followers, require_signatures=True)

    post_state(committed, leader, signed(1, trusted))

    assert [revs(f) for f in followers] == [[0, 1], [0, 1]]


def test_a_delivery_refused_for_signatures_fails_with_the_reason(
    monkeypatch, leader, make_member, make_pack, committed, pages
):
    """The leader's unsigned revision was planned before the owner turned the rule on:
    its delivery then fails (a failure in the wave's tally: the rollout pauses)."""
    follower = make_member("f1")
    pack = make_pack(leader, [follower], nick="kiosks", failure_threshold=0.0)
    monkeypatch.setattr(rollouts, "kick", lambda ids: None)
    post_state(committed, leader, state(1))
    monkeypatch.undo()
    committed(services.update_pack, pack, require_signatures=True)
    delivery = Delivery.objects.get(device=follower, rollout__leader_step__rev=1)

    committed(services.deliver, delivery.id)

    delivery.refresh_from_db()
    assert delivery.status == ro.D_FAILED
    assert delivery.error.startswith("pack kiosks requires signatures:")
    assert revs(follower) == [0]
    assert Rollout.objects.get(pk=delivery.rollout_id).status == ro.PAUSED
    page = pages.get(f"/dashboard/packs/{pack.id}/").content.decode()
    assert "pack kiosks requires signatures" in page
    assert 'data-field="refusal"' in page


def test_leaving_the_pack_lifts_the_packs_rule(leader, make_member, make_pack, committed):
    follower = make_member("f1")
    pack = make_pack(leader, [follower], require_signatures=True)

    committed(services.remove_follower, pack, follower)

    assert not requires_signatures(follower)
    assert requires_signatures(leader)
    post_state(committed, follower, state(5))
    assert revs(follower) == [0, 1]


def test_the_device_reads_the_packs_rule_and_the_trusted_pems(
    api, leader, make_member, make_pack, trusted
):
    follower = make_member("f1")
    make_pack(leader, [follower], require_signatures=True)

    mine = api.as_(follower).get(f"/devices/{follower.id}").json()

    assert mine["require-signatures"] is True
    assert len(mine["trusted-signers"]) == 1
    assert "BEGIN PUBLIC KEY" in mine["trusted-signers"][0]


def test_the_api_creates_and_changes_the_setting(api, owner, leader):
    body = {"nick": "kiosks", "leader": leader.id, "require-signatures": True}
    created = api.as_(owner).post("/packs/", body, format="json")
    assert created.status_code == 200, created.json()
    assert created.json()["require-signatures"] is True

    pack_id = created.json()["id"]
    changed = api.as_(owner).patch(
        f"/packs/{pack_id}", {"require-signatures": False}, format="json"
    )
    assert changed.status_code == 200, changed.json()
    assert changed.json()["require-signatures"] is False
    assert not requires_signatures(leader)


def test_the_api_refuses_a_setting_that_is_not_a_boolean(api, owner, pack):
    answer = api.as_(owner).patch(
        f"/packs/{pack.id}", {"require-signatures": "maybe"}, format="json"
    )

    assert answer.status_code == 400
    assert "require-signatures" in str(answer.json())
    pack.refresh_from_db()
    assert pack.require_signatures is False


def test_the_settings_page_sets_the_rule(pages, pack):
    page = pages.get(f"/dashboard/packs/{pack.id}/").content.decode()
    assert "Require signatures" in page

    # The form as the page fills it in (whatever other settings it has), ticked.
    form = PackForm(instance=pack, owner=pack.owner)
    body = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    body = {name: value for name, value in body.items() if value is not False}
    body["require_signatures"] = "on"
    assert pages.post(f"/dashboard/packs/{pack.id}/settings/", body).status_code == 302

    pack.refresh_from_db()
    assert pack.require_signatures is True
    assert "signatures required" in pages.get(f"/dashboard/packs/{pack.id}/").content.decode()


def test_the_device_settings_page_says_a_pack_requires_signatures(
    pages, leader, make_member, make_pack
):
    follower = make_member("f1")
    make_pack(leader, [follower], nick="kiosks", require_signatures=True)

    page = pages.get(f"/u/{follower.owner.username}/{follower.nick}/settings/").content.decode()

    assert "Required anyway: pack kiosks requires signatures." in page
