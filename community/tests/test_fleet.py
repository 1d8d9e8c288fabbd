"""The dashboard for a fleet (issue 21 item 6): search, filters, counts by status, the
last-seen and pack columns, paging, bulk actions, and a number of queries that does not
grow with the number of devices."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from community import fleet
from community import services as community_services
from community.models import Star
from devices import services as device_services
from devices.models import Device
from packs import services as pack_services
from packs.models import Pack, PackMember
from packs.tests.helpers import head, state
from portal.errors import Forbidden
from revisions import services as revisions
from trail import status as st
from trail import wire

pytestmark = pytest.mark.django_db

#: What one dashboard page costs, whatever the filters and however many devices: the
#: session, the user, the person's packs, the counts by status, the page's ids, the
#: page's rows, the starred shelf, and the person's proposals.
DASHBOARD_QUERIES = 8


@pytest.fixture
def signed_in(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def _eager_tasks():
    """Run the pack tasks inline, whatever broker the environment names."""
    from trailhub.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def fleet_of(owner, outsider, make_device, add_step):
    """alice's six devices, one of each kind, and mallory's public one that matches every
    search; returns alice's by nick. The pack lobby is led by tpl and followed by the two
    gateways."""
    now = timezone.now()
    devices = {
        "gw-online": make_device(
            owner,
            nick="gw-online",
            public=True,
            last_seen=now,
            device_meta={"arch": "arm64", "board": "rpi4"},
        ),
        "gw-stale": make_device(owner, nick="gw-stale", last_seen=now - dt.timedelta(hours=1)),
        "cam-new": make_device(owner, nick="cam-new"),
        "cam-none": make_device(owner, nick="cam-none"),
        "tpl": make_device(owner, nick="tpl", public=True, has_hardware=False),
        "kiosk-dl": make_device(
            owner, nick="kiosk-dl", last_seen=now, device_meta={"arch": "x86_64"}
        ),
    }
    add_step(devices["gw-online"], status=st.DONE)
    add_step(devices["gw-stale"], status=st.DONE)
    add_step(devices["gw-stale"], status=st.ERROR)  # the newest decides
    add_step(devices["cam-new"], status=st.NEW)
    add_step(devices["tpl"], status=st.NEW)
    add_step(devices["kiosk-dl"], status=st.DOWNLOADING)
    theirs = make_device(
        outsider, nick="gw-theirs", public=True, last_seen=now, device_meta={"arch": "arm64"}
    )
    add_step(theirs, status=st.DONE)
    lobby = pack_services.create_pack(owner, nick="lobby", leader=devices["tpl"])
    for nick in ("gw-online", "gw-stale"):
        pack_services.add_follower(lobby, devices[nick])
    devices["lobby"] = lobby
    return devices


def listed(response) -> list[str]:
    return [device.nick for device in response.context["page"].object_list]


def counted(response) -> dict[str, int]:
    return {count.key: count.count for count in response.context["counts"]}


def message_texts(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


ALL = ["cam-new", "cam-none", "gw-online", "gw-stale", "kiosk-dl", "tpl"]


# --- Filters -------------------------------------------------------------------------


def test_the_dashboard_lists_only_my_devices_by_nick(signed_in, fleet_of):
    response = signed_in.get("/dashboard/")
    assert listed(response) == ALL
    assert "gw-theirs" not in response.content.decode()


@pytest.mark.parametrize(
    "q, expected",
    [
        ("GW-", ["gw-online", "gw-stale"]),  # the nick, in any case
        ("rpi4", ["gw-online"]),  # a device-meta value
        ("arch", ["gw-online", "kiosk-dl"]),  # a device-meta key
        ("  kiosk  ", ["kiosk-dl"]),
        ("no-such-thing", []),
    ],
)
def test_search_matches_the_nick_and_the_device_meta(signed_in, fleet_of, q, expected):
    response = signed_in.get("/dashboard/", {"q": q})
    assert listed(response) == expected
    if not expected:
        assert "No device matches these filters." in response.content.decode()


def test_search_matches_the_id_and_the_prn(signed_in, fleet_of):
    device = fleet_of["kiosk-dl"]
    assert listed(signed_in.get("/dashboard/", {"q": device.id[-10:].upper()})) == ["kiosk-dl"]
    assert listed(signed_in.get("/dashboard/", {"q": wire.device_prn(device.id)})) == ["kiosk-dl"]


def test_a_search_longer_than_the_pages_take_is_cut(signed_in, fleet_of):
    response = signed_in.get("/dashboard/", {"q": "gw-online" + "x" * 200})
    assert response.status_code == 200
    assert response.context["filter_form"].cleaned_data["q"] == ("gw-online" + "x" * 200)[:100]


@pytest.mark.parametrize(
    "status, expected",
    [
        (st.DONE, ["gw-online"]),
        (st.ERROR, ["gw-stale"]),  # its rev 0 was DONE: only the newest counts
        (st.NEW, ["cam-new"]),  # a device that will install it
        ("template", ["tpl"]),  # a NEW revision no hardware will install
        (st.DOWNLOADING, ["kiosk-dl"]),
        ("none", ["cam-none"]),
        (st.WONTGO, []),
    ],
)
def test_the_status_filter_reads_the_newest_revision(signed_in, fleet_of, status, expected):
    assert listed(signed_in.get("/dashboard/", {"status": status})) == expected


@pytest.mark.parametrize(
    "presence, expected",
    [
        ("online", ["gw-online", "kiosk-dl"]),
        ("offline", ["cam-new", "cam-none", "gw-stale"]),  # seen an hour ago, or never
        ("template", ["tpl"]),
    ],
)
def test_the_presence_filter(signed_in, fleet_of, presence, expected):
    assert listed(signed_in.get("/dashboard/", {"presence": presence})) == expected


def test_the_pack_filter_finds_the_leader_and_the_followers(signed_in, fleet_of):
    lobby = fleet_of["lobby"]
    assert listed(signed_in.get("/dashboard/", {"pack": lobby.id})) == [
        "gw-online",
        "gw-stale",
        "tpl",
    ]
    assert listed(signed_in.get("/dashboard/", {"pack": "none"})) == [
        "cam-new",
        "cam-none",
        "kiosk-dl",
    ]


@pytest.mark.parametrize(
    "visibility, expected",
    [
        ("public", ["gw-online", "tpl"]),
        ("private", ["cam-new", "cam-none", "gw-stale", "kiosk-dl"]),
    ],
)
def test_the_visibility_filter(signed_in, fleet_of, visibility, expected):
    assert listed(signed_in.get("/dashboard/", {"visibility": visibility})) == expected


def test_filters_combine(signed_in, fleet_of):
    query = {"q": "gw", "presence": "offline", "visibility": "private", "status": st.ERROR}
    assert listed(signed_in.get("/dashboard/", query)) == ["gw-stale"]
    query["status"] = st.DONE
    assert listed(signed_in.get("/dashboard/", query)) == []


def test_values_that_are_not_choices_are_ignored_and_said(
    signed_in, fleet_of, outsider, make_device
):
    theirs = Pack.objects.create(
        owner=outsider, nick="theirs", leader=make_device(outsider, nick="their-leader")
    )
    response = signed_in.get("/dashboard/", {"status": "BOGUS", "pack": theirs.id, "presence": "x"})
    assert listed(response) == ALL
    html = response.content.decode()
    assert "Ignored:" in html and "Select a valid choice. BOGUS" in html
    assert (
        "theirs"
        not in re.search(r'<select name="pack"[^>]*id="id_pack"[^>]*>.*?</select>', html, re.S)[0]
    )


def test_sort_by_last_seen_puts_the_never_seen_last(signed_in, fleet_of):
    seen = listed(signed_in.get("/dashboard/", {"sort": "seen"}))
    assert seen[:2] == ["gw-online", "kiosk-dl"] or seen[:2] == ["kiosk-dl", "gw-online"]
    assert seen[2] == "gw-stale"
    assert sorted(seen[3:]) == ["cam-new", "cam-none", "tpl"]


# --- Counts by status --------------------------------------------------------------------


def test_counts_by_status_are_links_that_filter(signed_in, fleet_of):
    response = signed_in.get("/dashboard/")
    assert counted(response) == {
        st.NEW: 1,
        "template": 1,
        st.DOWNLOADING: 1,
        st.DONE: 1,
        st.ERROR: 1,
        "none": 1,
    }
    assert list(counted(response)) == [
        st.NEW,
        "template",
        st.DOWNLOADING,
        st.DONE,
        st.ERROR,
        "none",
    ]
    assert response.context["total"] == 6
    html = response.content.decode()
    assert re.search(
        r'<a href="\?status=ERROR" data-count="ERROR" >.*?ERROR.*?<strong>1</strong>', html
    )
    assert (
        '<a href="?" data-count="all" class="active" aria-current="true">All <strong>6</strong>'
        in html
    )


def test_counts_follow_the_other_filters_and_links_keep_them(signed_in, fleet_of):
    response = signed_in.get("/dashboard/", {"q": "gw", "status": st.DONE, "page": "2"})
    assert listed(response) == ["gw-online"]
    # The counts are those of the search, whatever the status chosen: the other one shows.
    assert counted(response) == {st.DONE: 1, st.ERROR: 1}
    html = response.content.decode()
    # Each link keeps the search and starts again at page 1; the chosen status is marked.
    assert '<a href="?q=gw&amp;status=ERROR" data-count="ERROR" >' in html
    assert '<a href="?q=gw&amp;status=DONE" data-count="DONE" class="active"' in html
    assert '<a href="?q=gw" data-count="all" >All <strong>2</strong>' in html


def test_the_counts_are_the_same_function_the_page_filters_by(fleet_of, owner):
    devices = fleet.filtered(owner, {}, fleet.owned_packs(owner))
    for key, count in fleet.status_counts(devices).items():
        assert fleet.with_status(devices, key).count() == count, key


# --- Columns --------------------------------------------------------------------------


def row(html: str, device: Device) -> str:
    return re.search(rf'<tr data-device="{device.id}">.*?</tr>', html, re.S)[0]


def test_last_seen_and_pack_columns(signed_in, fleet_of):
    html = signed_in.get("/dashboard/").content.decode()
    lobby = fleet_of["lobby"]
    online = row(html, fleet_of["gw-online"])
    # Seen "now" when the page was made; on a loaded machine a second or two may pass.
    seen = (
        r'data-field="seen"><time datetime="[^"]+" title="[^"]+">(now|a second ago|\d seconds ago)<'
    )
    assert re.search(seen, online)
    assert f'<a href="/dashboard/packs/{lobby.id}/">lobby</a>' in online
    assert ">online<" in online and 'class="badge">public<' in online
    assert "an hour ago</time>" in row(html, fleet_of["gw-stale"])
    assert 'data-field="seen">never<' in row(html, fleet_of["cam-none"])
    leader = row(html, fleet_of["tpl"])
    assert (
        f'<span class="badge">leads</span> <a href="/dashboard/packs/{lobby.id}/">lobby</a>'
        in leader
    )
    assert 'data-field="seen">—<' in leader and ">template<" in leader
    assert '<span class="empty">—</span></td>' in row(html, fleet_of["kiosk-dl"])


# --- Paging ---------------------------------------------------------------------------


@pytest.fixture
def many(owner, make_device):
    """120 devices p000…p119 (a letter no hex id has) and five others."""
    for n in range(120):
        make_device(owner, nick=f"p{n:03d}")
    for n in range(5):
        make_device(owner, nick=f"other-{n}")


def test_fifty_a_page_with_the_filters_kept_across_pages(signed_in, many):
    response = signed_in.get("/dashboard/", {"q": "p", "page": "2"})
    page = response.context["page"]
    assert (page.number, page.paginator.num_pages, page.paginator.count) == (2, 3, 120)
    assert listed(response) == [f"p{n:03d}" for n in range(50, 100)]
    html = response.content.decode()
    assert '<a href="?q=p&amp;page=1" rel="prev">← Previous</a>' in html
    assert '<a href="?q=p&amp;page=3" rel="next">Next →</a>' in html
    assert "51–100 of 120" in html
    # The bulk form comes back here after an action: same filters, same page.
    assert '<input type="hidden" name="back" value="q=p&amp;page=2" id="bulk_back">' in html
    assert listed(signed_in.get("/dashboard/", {"q": "p", "page": "3"}))[-1] == "p119"
    assert len(listed(signed_in.get("/dashboard/", {"q": "p", "page": "3"}))) == 20


@pytest.mark.parametrize("number, first", [("999", "p100"), ("nope", "p000"), ("-1", "p100")])
def test_a_page_out_of_range_shows_the_nearest(signed_in, many, number, first):
    assert listed(signed_in.get("/dashboard/", {"q": "p", "page": number}))[0] == first


# --- Queries --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"q": "d00"},
        {"status": st.DONE},
        {"status": "none", "presence": "offline"},
        {"presence": "online", "visibility": "public"},
        {"pack": "none", "sort": "seen"},
        {"q": "arm", "page": "2"},
    ],
)
def test_the_dashboard_runs_a_fixed_number_of_queries(
    signed_in, owner, make_device, add_step, committed_pack, django_assert_num_queries, query
):
    def fill(start: int, count: int) -> None:
        now = timezone.now()
        for n in range(start, start + count):
            device = make_device(
                owner,
                nick=f"d{n:03d}",
                public=bool(n % 2),
                last_seen=now if n % 3 else None,
                device_meta={"arch": "arm64" if n % 2 else "riscv"},
            )
            if n % 4:
                add_step(device, status=st.DONE if n % 5 else st.ERROR)
            if n % 7 == 0:
                pack_services.add_follower(committed_pack, device)
            Star.objects.create(user=owner, device=device)

    fill(0, 3)
    with django_assert_num_queries(DASHBOARD_QUERIES):
        assert signed_in.get("/dashboard/", query).status_code == 200
    fill(3, 140)
    with CaptureQueriesContext(connection), django_assert_num_queries(DASHBOARD_QUERIES):
        response = signed_in.get("/dashboard/", query)
    assert response.status_code == 200 and response.context["page"].object_list


@pytest.fixture
def committed_pack(owner, make_device):
    return pack_services.create_pack(owner, nick="pack", leader=make_device(owner, nick="lead"))


# --- Bulk actions ---------------------------------------------------------------------


def bulk(client, action: str, devices, **extra):
    data = {"action": action, "device": [d.id for d in devices], "back": "", **extra}
    return client.post("/dashboard/bulk/", data)


def confirmation_fields(html: str) -> list[tuple[str, str]]:
    """The hidden fields of a confirmation page's POST form."""
    [form] = re.findall(r'<form method="post"[^>]*>.*?</form>', html.split("data-confirm")[1], re.S)
    return re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)


def post_confirmation(client, html: str):
    data: dict[str, list[str]] = {}
    for name, value in confirmation_fields(html):
        if name != "csrfmiddlewaretoken":
            data.setdefault(name, []).append(value.replace("&amp;", "&"))
    return client.post("/dashboard/bulk/", data)


def public_of(*devices) -> list[bool]:
    return [Device.objects.get(pk=d.pk).public for d in devices]


def test_one_device_is_made_public_at_once_and_the_filters_kept(signed_in, fleet_of):
    cam = fleet_of["cam-new"]
    response = bulk(signed_in, "public", [cam], back="status=NEW&page=1&other=x")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/?status=NEW&page=1"
    assert public_of(cam) == [True]
    assert message_texts(response) == ["cam-new is public now."]


def test_more_than_one_device_asks_first(signed_in, fleet_of):
    chosen = [fleet_of["cam-new"], fleet_of["cam-none"], fleet_of["kiosk-dl"]]
    page = bulk(signed_in, "public", chosen, back="q=cam")
    html = page.content.decode()
    assert page.status_code == 200 and "Make 3 devices public?" in html
    assert "cam-new, cam-none, kiosk-dl." in html
    assert "Anyone can then see their pages" in html
    fields = confirmation_fields(html)
    assert [value for name, value in fields if name == "device"] == [d.id for d in chosen]
    assert ("confirmed", "on") in fields and ("action", "public") in fields
    assert '<a class="button secondary" href="/dashboard/?q=cam">Cancel</a>' in html
    assert public_of(*chosen) == [False, False, False]  # asking changed nothing

    done = post_confirmation(signed_in, html)
    assert done.status_code == 302 and done["Location"] == "/dashboard/?q=cam"
    assert public_of(*chosen) == [True, True, True]
    assert message_texts(done) == ["cam-new, cam-none, kiosk-dl are public now."]


def test_devices_already_so_are_not_counted_nor_asked_about(signed_in, fleet_of):
    # gw-online and tpl are public, cam-new is not: making them private changes two.
    chosen = [fleet_of["gw-online"], fleet_of["tpl"], fleet_of["cam-new"]]
    html = bulk(signed_in, "private", chosen).content.decode()
    assert "Make 2 devices private?" in html
    assert "gw-online, tpl." in html
    assert "Already private, left as they are: cam-new." in html
    post_confirmation(signed_in, html)
    assert public_of(*chosen) == [False, False, False]
    # One of two that would change is done at once; none, and nothing is done.
    fleet_of["gw-online"].public = True
    fleet_of["gw-online"].save()
    response = bulk(signed_in, "public", [fleet_of["cam-new"], fleet_of["gw-online"]])
    assert response.status_code == 302 and public_of(fleet_of["cam-new"]) == [True]
    assert message_texts(response)[-1] == "cam-new is public now."
    response = bulk(signed_in, "public", [fleet_of["cam-new"]])
    assert message_texts(response)[-1] == "Nothing to change: already public."


def test_adding_to_a_pack_asks_and_the_service_says_who_was_not_added(
    signed_in, owner, fleet_of, make_device
):
    lobby = fleet_of["lobby"]
    other = pack_services.create_pack(owner, nick="other", leader=make_device(owner, nick="ld"))
    pack_services.add_follower(other, fleet_of["kiosk-dl"])
    chosen = [
        fleet_of["cam-new"],
        fleet_of["cam-none"],
        fleet_of["kiosk-dl"],
        fleet_of["gw-online"],
    ]
    page = bulk(signed_in, "pack", chosen, pack=lobby.id)
    html = page.content.decode()
    assert "Add 3 devices to pack lobby?" in html  # gw-online follows lobby already
    assert "will follow tpl, the leader of lobby." in html
    assert "its state is posted to each device as a new revision" in html
    assert "Already in lobby, left as they are: gw-online." in html
    assert PackMember.objects.filter(pack=lobby).count() == 2

    done = post_confirmation(signed_in, html)
    assert done.status_code == 302
    members = set(PackMember.objects.filter(pack=lobby).values_list("device__nick", flat=True))
    assert members == {"gw-online", "gw-stale", "cam-new", "cam-none"}
    assert PackMember.objects.get(device=fleet_of["kiosk-dl"]).pack == other
    assert message_texts(done) == [
        "cam-new, cam-none now follow lobby.",
        "Not added to lobby: kiosk-dl already follows pack other; a device follows at most"
        " one pack: remove it there first.",
    ]


def test_the_pack_must_be_chosen_and_be_mine(signed_in, fleet_of, outsider, make_device):
    cam = fleet_of["cam-new"]
    response = bulk(signed_in, "pack", [cam])
    assert response.status_code == 400
    assert "Choose the pack to add the devices to." in response.content.decode()
    theirs = Pack.objects.create(
        owner=outsider, nick="theirs", leader=make_device(outsider, nick="their-leader")
    )
    response = bulk(signed_in, "pack", [cam], pack=theirs.id, confirmed="on")
    assert response.status_code == 400
    assert "That is not one of your packs. Nothing was changed." in response.content.decode()
    assert not PackMember.objects.filter(device=cam).exists()


def test_added_followers_catch_up_to_the_leader(
    signed_in, owner, make_device, _eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        leader = make_device(owner, nick="screen-template", has_hardware=False)
        revisions.create_trail(leader, state(0))
        followers = [make_device(owner, nick=f"screen-{n}") for n in range(2)]
        for follower in followers:
            revisions.create_trail(follower, state("factory"))
        pack = pack_services.create_pack(owner, nick="screens", leader=leader)
        release = revisions.post_step(leader.trail, state(2), commit_msg="v2", author=owner)
    with django_capture_on_commit_callbacks(execute=True):
        done = bulk(signed_in, "pack", followers, pack=pack.id, confirmed="on")
    assert done.status_code == 302
    for follower in followers:
        assert head(follower).rev == 1 and head(follower).state == release.state


def test_others_devices_are_refused_and_nothing_changes(signed_in, fleet_of, outsider, make_device):
    theirs = Device.objects.get(nick="gw-theirs")
    private_theirs = make_device(outsider, nick="secret")
    mine = fleet_of["cam-new"]
    for action, extra in (
        ("public", {}),
        ("private", {}),
        ("pack", {"pack": fleet_of["lobby"].id}),
    ):
        response = bulk(signed_in, action, [mine, theirs, private_theirs], confirmed="on", **extra)
        assert response.status_code == 400, action
        html = response.content.decode()
        assert "Nothing was changed" in html
        assert f"Not one of your devices: {theirs.id}, {private_theirs.id}." in html
        assert "secret" not in html and "gw-theirs" not in html  # only the ids sent
    assert public_of(mine, theirs, private_theirs) == [False, True, False]
    assert not PackMember.objects.filter(device__in=[mine, theirs, private_theirs]).exists()


@pytest.mark.parametrize(
    "data, error",
    [
        ({"action": "public"}, "Select at least one device."),
        ({"action": "public", "device": ["not-an-id"]}, "Not one of your devices: not-an-id."),
        ({"action": "explode", "device": ["0" * 24]}, "Select a valid choice."),
    ],
)
def test_a_bad_request_is_a_400_that_says_why(signed_in, fleet_of, data, error):
    response = signed_in.post("/dashboard/bulk/", data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert 'href="/dashboard/">Back to your devices</a>' in response.content.decode()


def test_bulk_actions_need_the_csrf_token_a_post_and_a_person(owner, fleet_of, client):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    data = {"action": "public", "device": [fleet_of["cam-new"].id]}
    assert strict.post("/dashboard/bulk/", data).status_code == 403
    assert client.post("/dashboard/bulk/", data)["Location"].startswith("/accounts/login/")
    client.force_login(owner)
    assert client.get("/dashboard/bulk/", data).status_code == 405
    assert public_of(fleet_of["cam-new"]) == [False]
    html = client.get("/dashboard/").content.decode()
    assert re.search(
        r'<form method="post" action="/dashboard/bulk/"[^>]*>'
        r'<input type="hidden" name="csrfmiddlewaretoken"',
        html,
    )


def test_bulk_actions_go_through_the_devices_and_packs_services(signed_in, fleet_of, monkeypatch):
    calls = []

    def spy(name, real):
        def call(*args, **kwargs):
            calls.append((name, args[-1].nick if name == "add_follower" else args[0].nick))
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(
        device_services, "update_device", spy("update_device", device_services.update_device)
    )
    monkeypatch.setattr(
        pack_services, "add_follower", spy("add_follower", pack_services.add_follower)
    )
    bulk(signed_in, "public", [fleet_of["cam-new"], fleet_of["cam-none"]], confirmed="on")
    bulk(signed_in, "pack", [fleet_of["kiosk-dl"]], pack=fleet_of["lobby"].id)
    assert calls == [
        ("update_device", "cam-new"),
        ("update_device", "cam-none"),
        ("add_follower", "kiosk-dl"),
    ]


def test_the_services_refuse_someone_elses_device_before_changing_any(owner, fleet_of):
    mine, theirs = fleet_of["cam-new"], Device.objects.get(nick="gw-theirs")
    with pytest.raises(Forbidden, match="not your device: gw-theirs"):
        community_services.set_public(owner, [mine, theirs], True)
    with pytest.raises(Forbidden, match="not your device: gw-theirs"):
        community_services.add_followers(owner, fleet_of["lobby"], [mine, theirs])
    assert public_of(mine) == [False]
    assert not PackMember.objects.filter(device=mine).exists()


def test_the_pack_list_of_the_bulk_form_is_mine(signed_in, fleet_of):
    html = signed_in.get("/dashboard/").content.decode()
    select = re.search(r'<select name="pack" id="bulk_pack">.*?</select>', html, re.S)[0]
    assert f'<option value="{fleet_of["lobby"].id}">lobby</option>' in select


def test_the_claim_form_shows_until_there_is_a_device(signed_in, owner, make_device):
    html = signed_in.get("/dashboard/").content.decode()
    assert 'class="card inline-form claim-form"' in html and "No devices yet." in html
    make_device(owner, nick="first")
    html = signed_in.get("/dashboard/").content.decode()
    assert "claim-form" not in html and 'href="/dashboard/claim/">Claim a device</a>' in html


def test_a_refusal_of_the_services_themselves_is_shown_and_changes_nothing(
    signed_in, fleet_of, monkeypatch
):
    # The form found the devices among the person's; the service checks again on its own.
    monkeypatch.setattr(Device, "is_owned_by", lambda device, user: False)
    response = bulk(signed_in, "public", [fleet_of["cam-new"]])
    assert response.status_code == 403
    assert "not your device: cam-new" in response.content.decode()
    assert public_of(fleet_of["cam-new"]) == [False]
