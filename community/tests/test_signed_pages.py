"""Signed revisions on the public pages (issue 23 item 4, docs/signing.md): a badge per
platform and for the rest of the state on the revision page (trail.signatures.summary,
through revisions.services.signing.parts_signed), the ``signed`` flag stored with each
revision when it is posted, explore's ``signed=1`` filter (the page and GET
/community/devices), and forks, which keep the upstream signatures on the platforms they
did not change while a changed one shows unsigned until it is signed again."""

from __future__ import annotations

import importlib

import pytest
from cryptography.hazmat.primitives import serialization
from django.apps import apps as django_apps

from community import services as community
from portal import signing_keys
from revisions.models import Step, Trail
from revisions.services.steps import create_trail, post_step, replace_state
from trail.signatures import part_match, sign, state_match
from trail.signatures.keys import new_development_key

pytestmark = pytest.mark.django_db

SPEC = "pantavisor-service-system@1"
STATE = {
    "#spec": SPEC,
    "bsp/run.json": {"addons": [], "initrd": "pantavisor"},
    "app/run.json": {"name": "app", "#spec": "service-manifest-run@1"},
    "device.json": {"hello": "world"},
}


@pytest.fixture(scope="module")
def signer():
    return new_development_key("ec", "release signer")


def pem(signer) -> str:
    public = signer[0].public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def sign_parts(state: dict, signer, parts=("bsp", "app")) -> dict:
    """Each platform signed as `trail sig add --part` (pvr's sig add --part) signs it,
    and the top-level keys by one more signature."""
    key, cert = signer
    for part in parts:
        state = {**state, f"_sigs/{part}.json": sign(state, part_match(part), key, [cert])}
    rest = state_match("rest", include=["device.json"])
    return {**state, "_sigs/rest.json": sign(state, rest, key, [cert])}


@pytest.fixture
def signed_device(owner, make_device, signer):
    """alice/signed, public, whose rev 1 has every part signed by a signer she trusts."""
    device = make_device(owner, nick="signed", public=True)
    create_trail(device, {"#spec": SPEC})
    signing_keys.add_pem(owner, "release", pem(signer))
    post_step(device.trail, sign_parts(STATE, signer), author=owner)
    return device


def badges(page: str) -> dict[str, str]:
    """part -> its data-signing status, read off the revision page."""
    import re

    found = re.findall(r'data-part="([^"]*)" data-signing="([a-z]+)"', page)
    return dict(found)


def revision_page(client, device, rev: int) -> str:
    answer = client.get(f"/u/{device.owner.username}/{device.nick}/revisions/{rev}/")
    assert answer.status_code == 200
    return answer.content.decode()


def test_the_revision_page_shows_who_signed_each_platform(client, signed_device):
    page = revision_page(client, signed_device, 1)

    assert badges(page) == {"app": "signed", "bsp": "signed", "": "signed"}
    assert "signed by CN=release signer" in page
    assert "trusted by alice" in page
    assert "the rest of the state" in page


def test_a_signer_the_owner_does_not_trust_is_named_as_such(client, owner, make_device, signer):
    device = make_device(owner, nick="other", public=True)
    create_trail(device, {"#spec": SPEC})
    post_step(device.trail, sign_parts(STATE, signer), author=owner)

    page = revision_page(client, device, 1)

    assert set(badges(page).values()) == {"signed"}
    assert "not a signer alice trusts" in page


def test_an_unsigned_revision_shows_no_signatures(client, owner, make_device):
    device = make_device(owner, nick="plain", public=True)
    create_trail(device, {"#spec": SPEC})
    post_step(device.trail, STATE, author=owner)

    page = revision_page(client, device, 1)

    assert badges(page) == {}
    assert "Signatures" not in page


def test_a_malformed_signature_shows_its_platform_invalid(client, owner, make_device, signer):
    device = make_device(owner, nick="broken", public=True)
    create_trail(device, {"#spec": SPEC})
    state = {**sign_parts(STATE, signer), "_sigs/app.json": {"#spec": "pvs@2"}}
    post_step(device.trail, state, author=owner)

    page = revision_page(client, device, 1)

    assert badges(page) == {"app": "invalid", "bsp": "signed", "": "signed"}


def test_the_signed_flag_is_stored_when_a_revision_is_posted_or_replaced(
    owner, signed_device, signer
):
    assert Step.objects.get(trail_id=signed_device.id, rev=1).signed is True
    assert Step.objects.get(trail_id=signed_device.id, rev=0).signed is False

    unsigned = post_step(signed_device.trail, STATE, author=owner)
    assert unsigned.signed is False
    replaced = replace_state(unsigned, sign_parts(STATE, signer))
    assert Step.objects.get(pk=replaced.pk).signed is True


def test_the_migration_flags_the_revisions_posted_before(owner, signed_device):
    Step.objects.filter(trail_id=signed_device.id).update(signed=False)
    migration = importlib.import_module("revisions.migrations.0004_step_signed")

    migration.backfill(django_apps, None)

    flags = dict(Step.objects.filter(trail_id=signed_device.id).values_list("rev", "signed"))
    assert flags == {0: False, 1: True}


def test_a_fork_keeps_the_signatures_of_the_platforms_it_did_not_change(
    client, owner, outsider, signed_device, signer
):
    source = Step.objects.get(trail_id=signed_device.id, rev=1)
    forked = community.fork(outsider, signed_device, source, nick="my-copy")
    fork_device = forked.trail.device
    fork_device.public = True
    fork_device.save(update_fields=["public"])
    assert forked.signed is True
    assert set(badges(revision_page(client, fork_device, forked.rev)).values()) == {"signed"}

    changed = {**forked.state, "app/run.json": {"name": "app", "mine": True}}
    step = post_step(Trail.objects.get(pk=fork_device.id), changed, author=outsider)

    page = revision_page(client, fork_device, step.rev)
    assert badges(page) == {"app": "unsigned", "bsp": "signed", "": "signed"}
    assert "_sigs/app.json no longer matches" in page
    # Mallory trusts nobody: the upstream signer still signed the parts, untrusted by her.
    assert "not a signer mallory trusts" in page
    assert step.signed is False


# --- explore ------------------------------------------------------------------------


@pytest.fixture
def plain_device(owner, make_device):
    device = make_device(owner, nick="plain", public=True)
    create_trail(device, {"#spec": SPEC})
    post_step(device.trail, STATE, author=owner)
    return device


def test_explore_filters_for_signed_devices(api, signed_device, plain_device):
    everyone = api.get("/community/devices").json()
    signed = api.get("/community/devices?signed=1").json()

    assert {d["nick"] for d in everyone["devices"]} == {"signed", "plain"}
    assert [d["nick"] for d in signed["devices"]] == ["signed"]
    assert signed["count"] == 1
    assert api.get("/community/devices?signed=0").json()["count"] == 2


def test_explore_counts_only_the_newest_revision(api, owner, signed_device):
    post_step(signed_device.trail, STATE, author=owner)

    assert api.get("/community/devices?signed=1").json()["count"] == 0


def test_explore_refuses_a_bad_signed_value(api):
    answer = api.get("/community/devices?signed=maybe")

    assert answer.status_code == 400
    assert answer.json()["code"] == "bad-signed"


def test_the_explore_page_filters_for_signed_devices(client, signed_device, plain_device):
    page = client.get("/explore/?signed=1").content.decode()

    assert "/u/alice/signed/" in page
    assert "/u/alice/plain/" not in page
    assert 'name="signed" value="1" checked' in page
    assert "/u/alice/plain/" in client.get("/explore/").content.decode()


def test_a_card_says_whether_its_newest_revision_is_signed(
    api, client, signed_device, plain_device
):
    cards = {d["nick"]: d["signed"] for d in api.get("/community/devices").json()["devices"]}
    page = client.get("/explore/").content.decode()

    assert cards == {"signed": True, "plain": False}
    assert page.count('data-field="signed"') == 1
