"""What a device runs and on what: its platforms, and the facts its owner publishes."""

from __future__ import annotations

import re

import pytest

from community.tests.conftest import sample_state
from devices import services as device_services
from portal.errors import DomainError

pytestmark = pytest.mark.django_db

SECRET = "canary-private-device-meta"
META = {
    "pantavisor.dtmodel": "Raspberry Pi 4 Model B Rev 1.4",
    "pantavisor.arch": "aarch64/64/EL",
    "pantavisor.version": "019",
    "interfaces": {"wlan0": SECRET},
}


@pytest.fixture
def kiosk(owner, make_device, add_step):
    """alice's public kiosk, reporting its board and architecture, running two platforms."""
    device = make_device(owner, nick="kiosk", public=True, device_meta=META)
    state = {**sample_state(0, "awconnect"), **sample_state(0, "pv-avahi")}
    add_step(device, state)
    return device


PUBLIC_PAGES = ["/explore/", "/", "/u/alice/", "/u/alice/kiosk/"]


@pytest.mark.parametrize("page", PUBLIC_PAGES)
def test_nothing_of_the_device_meta_shows_until_the_owner_publishes_it(
    client, outsider, kiosk, page
):
    client.force_login(outsider)
    body = client.get(page).content.decode()
    assert "Raspberry Pi 4" not in body and "aarch64" not in body
    assert SECRET not in body and "pantavisor.version" not in body


@pytest.mark.parametrize("page", PUBLIC_PAGES)
def test_published_facts_show_and_nothing_else(client, kiosk, page):
    device_services.update_device(kiosk, public_facts=["board"])
    body = client.get(page).content.decode()
    assert "Raspberry Pi 4 Model B Rev 1.4" in body
    assert "aarch64" not in body  # not published
    assert SECRET not in body
    # The version, not published: as a word (a sha or an id on the page may hold "019").
    assert not re.search(r"\b019\b", body)


def test_explore_cards_say_what_a_device_runs_and_on_what(client, kiosk):
    device_services.update_device(kiosk, public_facts=["board", "arch"])
    response = client.get("/explore/")
    [card] = response.context["page"].object_list
    assert card.runs == ["awconnect", "pv-avahi"]
    assert card.runs_on == [
        ("Board", "Raspberry Pi 4 Model B Rev 1.4"),
        ("Architecture", "aarch64/64/EL"),
    ]
    body = response.content.decode()
    assert '<span class="chip">awconnect</span><span class="chip">pv-avahi</span>' in body
    assert (
        '<span title="Board">Raspberry Pi 4 Model B Rev 1.4</span> · '
        '<span title="Architecture">aarch64/64/EL</span>' in body
    )


def test_a_fact_is_shown_as_text_and_only_when_it_is_text(client, owner, make_device, add_step):
    device = make_device(
        owner,
        nick="odd",
        public=True,
        device_meta={"pantavisor.dtmodel": "<b>board</b>" + "x" * 200, "pantavisor.arch": 64},
        public_facts=["board", "arch"],
    )
    add_step(device)
    assert device.facts() == [("Board", ("<b>board</b>" + "x" * 200)[:80])]
    body = client.get("/u/alice/odd/").content.decode()
    assert "&lt;b&gt;board&lt;/b&gt;" in body and "<b>board</b>" not in body


def test_the_owner_chooses_the_facts_in_the_settings(client, owner, kiosk):
    client.force_login(owner)
    form = client.get("/u/alice/kiosk/settings/").content.decode()
    assert "Board: Raspberry Pi 4 Model B Rev 1.4 (pantavisor.dtmodel)" in form
    assert "Architecture: aarch64/64/EL (pantavisor.arch)" in form
    response = client.post(
        "/u/alice/kiosk/settings/",
        {"nick": "kiosk", "description": "", "public": "on", "public_facts": ["arch", "board"]},
    )
    assert response.status_code == 302
    kiosk.refresh_from_db()
    assert kiosk.public_facts == ["board", "arch"]  # stored in PUBLIC_FACTS' order
    response = client.post(
        "/u/alice/kiosk/settings/",
        {"nick": "kiosk", "public": "on", "public_facts": ["interfaces"]},
    )
    assert response.status_code == 200 and "public_facts" in response.context["form"].errors
    kiosk.refresh_from_db()
    assert kiosk.public_facts == ["board", "arch"]


def test_only_known_facts_can_be_published(kiosk):
    with pytest.raises(DomainError, match="no such fact to publish: interfaces"):
        device_services.update_device(kiosk, public_facts=["board", "interfaces"])
