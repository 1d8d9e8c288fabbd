import json

import pytest

from devices.models import Device, DeviceLog

pytestmark = pytest.mark.django_db

OWNER_PAGES = ["meta/", "logs/", "settings/"]


@pytest.mark.parametrize("subpage", OWNER_PAGES)
def test_owner_pages_are_a_404_for_anyone_else_even_on_a_public_device(
    client, owner, outsider, public_device, subpage
):
    client.force_login(outsider)
    assert client.get(f"/u/alice/kiosk/{subpage}").status_code == 404
    assert client.post(f"/u/alice/kiosk/{subpage}", {"nick": "stolen"}).status_code == 404
    client.force_login(owner)
    assert client.get(f"/u/alice/kiosk/{subpage}").status_code == 200
    public_device.refresh_from_db()
    assert public_device.nick == "kiosk"


def test_owner_tabs_are_only_shown_to_the_owner(client, owner, outsider, public_device):
    client.force_login(outsider)
    assert "/u/alice/kiosk/settings/" not in client.get("/u/alice/kiosk/").content.decode()
    client.force_login(owner)
    assert "/u/alice/kiosk/settings/" in client.get("/u/alice/kiosk/").content.decode()


def test_it_saves_settings_and_follows_a_rename(client, owner, device):
    client.force_login(owner)
    response = client.post(
        "/u/alice/kiosk/settings/",
        {"nick": "front-door", "description": "By the <door>", "public": "on"},
    )
    assert response.status_code == 302 and response["Location"] == "/u/alice/front-door/settings/"
    device.refresh_from_db()
    assert (device.nick, device.description, device.public) == ("front-door", "By the <door>", True)
    assert client.get("/u/alice/kiosk/").status_code == 404


def test_it_refuses_a_taken_or_malformed_nick(client, owner, device, make_device):
    make_device(owner, nick="taken")
    client.force_login(owner)
    response = client.post("/u/alice/kiosk/settings/", {"nick": "taken", "description": ""})
    assert response.status_code == 200
    assert "already have a device called" in response.content.decode()
    response = client.post("/u/alice/kiosk/settings/", {"nick": "no/slashes", "description": ""})
    assert response.status_code == 200 and response.context["form"].errors["nick"]
    device.refresh_from_db()
    assert device.nick == "kiosk"


def test_it_deletes_a_device_only_when_the_nick_is_typed(client, owner, device):
    client.force_login(owner)
    response = client.post("/u/alice/kiosk/settings/delete/", {"confirm": "nope"})
    assert response.status_code == 400
    assert Device.objects.filter(id=device.id).exists()
    response = client.post("/u/alice/kiosk/settings/delete/", {"confirm": "kiosk"})
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert not Device.objects.filter(id=device.id).exists()


def test_an_outsider_cannot_delete(client, outsider, public_device):
    client.force_login(outsider)
    assert client.post("/u/alice/kiosk/settings/delete/", {"confirm": "kiosk"}).status_code == 404
    assert Device.objects.filter(id=public_device.id).exists()


def test_it_edits_user_meta_and_shows_device_meta(client, owner, device):
    device.device_meta = {"interfaces": "<eth0>"}
    device.save()
    client.force_login(owner)
    body = client.get("/u/alice/kiosk/meta/").content.decode()
    assert "&quot;interfaces&quot;: &quot;&lt;eth0&gt;&quot;" in body
    response = client.post("/u/alice/kiosk/meta/", {"user_meta": '{"site": "lab", "n": 2}'})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.user_meta == {"site": "lab", "n": 2}


@pytest.mark.parametrize(
    ("raw", "message"),
    [("{not json", "Not valid JSON"), ("[1, 2]", "must be a JSON object")],
)
def test_it_refuses_bad_user_meta(client, owner, device, raw, message):
    device.user_meta = {"keep": True}
    device.save()
    client.force_login(owner)
    response = client.post("/u/alice/kiosk/meta/", {"user_meta": raw})
    assert response.status_code == 200
    assert message in response.content.decode()
    device.refresh_from_db()
    assert device.user_meta == {"keep": True}


def test_it_refuses_user_meta_over_the_size_limit(client, owner, device, settings):
    settings.DEVICE_META_MAX_BYTES = 50
    client.force_login(owner)
    response = client.post("/u/alice/kiosk/meta/", {"user_meta": json.dumps({"x": "y" * 100})})
    assert response.status_code == 200 and "the limit is 50" in response.content.decode()
    device.refresh_from_db()
    assert device.user_meta == {}


def test_the_logs_page_shows_the_newest_lines_escaped(client, owner, device):
    from django.utils import timezone

    now = timezone.now()
    for n in range(3):
        DeviceLog.objects.create(
            device=device,
            time=now,
            tsec=int(now.timestamp()),
            lvl="INFO",
            src="pv",
            msg=f"line {n} <b>",
        )
    client.force_login(owner)
    response = client.get("/u/alice/kiosk/logs/")
    body = response.content.decode()
    assert [line.msg for line in response.context["lines"]] == [
        "line 0 <b>",
        "line 1 <b>",
        "line 2 <b>",
    ]
    assert "line 2 &lt;b&gt;" in body
