"""The device's settings page edits its tags (devices/tags.py), and dynamic packs follow."""

import pytest

from devices.models import Device
from packs import services as packs
from packs.models import PackMember

pytestmark = pytest.mark.django_db


def test_the_settings_page_sets_the_tags_and_a_dynamic_pack_takes_the_device(
    client, owner, device, make_device, django_capture_on_commit_callbacks
):
    leader = make_device(owner, nick="template", has_hardware=False)
    pack = packs.create_pack(owner, nick="kiosks", leader=leader, rule={"tags": {"all": ["kiosk"]}})
    client.force_login(owner)
    assert 'name="tags"' in client.get("/u/alice/kiosk/settings/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/u/alice/kiosk/settings/", {"nick": "kiosk", "description": "", "tags": "Kiosk, lobby"}
        )
    assert response.status_code == 302
    assert Device.objects.get(pk=device.id).tags == ["kiosk", "lobby"]
    assert PackMember.objects.get(device=device).pack_id == pack.id
    assert 'value="kiosk lobby"' in client.get("/u/alice/kiosk/settings/").content.decode()


def test_a_bad_tag_is_an_error_on_the_form_and_changes_nothing(client, owner, device):
    Device.objects.filter(pk=device.id).update(tags=["keep"])
    client.force_login(owner)
    response = client.post(
        "/u/alice/kiosk/settings/", {"nick": "kiosk", "description": "", "tags": "ok bad/tag"}
    )
    assert response.status_code == 200
    assert "is not a tag" in response.content.decode()
    assert Device.objects.get(pk=device.id).tags == ["keep"]


def test_the_fleet_dashboard_shows_the_tags_and_finds_devices_by_them(client, owner, make_device):
    make_device(owner, nick="kiosk", tags=["site:berlin", "lobby"])
    make_device(owner, nick="gateway", tags=["site:paris"])
    client.force_login(owner)
    body = client.get("/dashboard/", {"q": "berlin"}).content.decode()
    assert '<span class="badge muted" data-field="tag">site:berlin</span>' in body
    assert ">kiosk</strong>" in body and ">gateway</strong>" not in body
