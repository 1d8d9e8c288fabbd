"""Forks that follow upstream: GET/PUT /trails/<id>/upstream, POST /trails/<id>/upstream/merge,
following by itself (a Celery task after the upstream reaches a revision), and the page."""

from __future__ import annotations

import copy
import hashlib
import importlib

import pytest

from community import services
from community.models import Fork, Upstream
from community.services import upstream
from devices.models import Device
from revisions.models import OwnerObject, Step
from revisions.services.steps import create_trail, post_step, report_progress
from trail import status as st

pytestmark = pytest.mark.django_db

NEW_APP = b"the app, version 2"


@pytest.fixture(autouse=True)
def _eager_tasks():
    """Run the follow task where it is queued, whatever broker the environment names."""
    from trailhub.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def mine(outsider, kiosk, committed):
    """mallory/mine: a fork of alice/kiosk at revision 1."""
    step = Step.objects.get(trail_id=kiosk.id, rev=1)
    committed(services.fork, outsider, kiosk, step, nick="mine")
    return Device.objects.get(owner=outsider, nick="mine")


def head(device) -> Step:
    return Step.objects.filter(trail_id=device.id).order_by("-rev").first()


def changed(device, who, committed, done: bool = False, **json_members) -> Step:
    """Post ``device``'s newest state again with members set in its app/run.json."""
    state = copy.deepcopy(head(device).state)
    state["app/run.json"].update(json_members)
    step = committed(post_step, device.trail, state, author=who, commit_msg="change")
    if done:
        committed(report_progress, step, st.DONE, progress=100)
    return step


def url(device, merge: bool = False) -> str:
    return f"/trails/{device.id}/upstream" + ("/merge" if merge else "")


def test_a_fork_knows_its_upstream_and_how_far_behind_it_is(
    api, owner, outsider, kiosk, mine, committed
):
    assert Upstream.objects.get(device=mine).base_rev == 1
    answer = api.as_(outsider).get(url(mine))
    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "device": kiosk.id,
        "owner-nick": "alice",
        "nick": "kiosk",
        "base-rev": 1,
        "head-rev": 1,
        "behind": 0,
        "follow": False,
        "notice": "",
    }
    changed(kiosk, owner, committed, a=1)
    changed(kiosk, owner, committed, a=2)
    assert api.get(url(mine)).json()["behind"] == 2


def test_a_device_that_is_no_fork_answers_nulls(api, owner, kiosk):
    answer = api.as_(owner).get(url(kiosk)).json()
    assert answer["device"] is None and answer["behind"] == 0 and answer["base-rev"] is None


def test_an_upstream_that_went_private_is_none_to_merge_from(
    api, owner, outsider, kiosk, mine, committed
):
    changed(kiosk, owner, committed, a=1)
    Device.objects.filter(pk=kiosk.pk).update(public=False)
    assert api.as_(outsider).get(url(mine)).json()["device"] is None
    answer = api.post(url(mine, merge=True), {})
    assert (answer.status_code, answer.json()["code"]) == (409, "no-upstream")


def test_it_merges_both_sides_changes_and_links_the_new_objects(
    api, owner, outsider, kiosk, mine, committed, uploaded_state
):
    ours = changed(mine, outsider, committed, mine=True)
    state = copy.deepcopy(head(kiosk).state)
    state["app/run.json"]["theirs"] = True
    state.update(uploaded_state(owner, {"app/root.squashfs": NEW_APP}))
    theirs = committed(post_step, kiosk.trail, state, author=owner)

    answer = api.as_(outsider).post(url(mine, merge=True), {"rev": -1}, format="json")

    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["revision"]["rev"] == ours.rev + 1
    assert body["revision"]["commit-msg"] == "Merge upstream alice/kiosk rev 2"
    assert body["revision"]["state"]["app/run.json"] == {"mine": True, "theirs": True}
    assert body["revision"]["state"]["app/root.squashfs"] == hashlib.sha256(NEW_APP).hexdigest()
    assert (body["upstream"]["base-rev"], body["upstream"]["behind"]) == (2, 0)
    step = head(mine)
    assert (step.forked_from, step.author, step.status) == (theirs, outsider, st.NEW)
    sha = hashlib.sha256(NEW_APP).hexdigest()
    assert OwnerObject.objects.get(owner=outsider, sha256=sha).kind == "link"
    assert not Fork.objects.filter(device=mine, rev=step.rev).exists()  # a merge is no fork
    again = api.post(url(mine, merge=True), {})
    assert (again.status_code, again.json()["code"]) == (409, "up-to-date")


def test_a_conflict_answers_each_place_and_changes_nothing(
    api, owner, outsider, kiosk, mine, committed
):
    changed(mine, outsider, committed, port=8080, same="x")
    changed(kiosk, owner, committed, port=9090, same="x", other=1)
    revisions = Step.objects.filter(trail_id=mine.id).count()

    answer = api.as_(outsider).post(url(mine, merge=True), {})

    assert answer.status_code == 409, answer.content
    body = answer.json()
    assert body["code"] == "conflicts" and "resolve them" in body["error"]
    assert body["conflicts"] == [
        {"path": "/app~1run.json/port", "ours": 8080, "theirs": 9090}
    ]  # no base: both added it
    assert Step.objects.filter(trail_id=mine.id).count() == revisions
    assert Upstream.objects.get(device=mine).base_rev == 1


def test_a_conflict_resolved_by_hand_is_posted_as_the_merge(
    api, owner, outsider, kiosk, mine, committed
):
    ours = changed(mine, outsider, committed, port=8080)
    changed(kiosk, owner, committed, port=9090)
    resolved = copy.deepcopy(ours.state)
    resolved["app/run.json"]["port"] = 8443  # neither side's: the owner's own choice

    answer = api.as_(outsider).post(
        url(mine, merge=True),
        {"rev": 2, "state": resolved, "parent-rev": ours.rev},
        format="json",
    )

    assert answer.status_code == 201, answer.content
    new = head(mine)
    assert new.rev == ours.rev + 1 and new.state["app/run.json"]["port"] == 8443
    assert new.commit_msg == "Merge upstream alice/kiosk rev 2"
    assert answer.json()["upstream"]["base-rev"] == 2
    assert Upstream.objects.get(device=mine).base_rev == 2


def test_a_resolution_made_before_a_newer_post_is_refused(
    api, owner, outsider, kiosk, mine, committed
):
    ours = changed(mine, outsider, committed, port=8080)
    changed(kiosk, owner, committed, port=9090)
    later = changed(mine, outsider, committed, debug=True)  # posted while resolving

    answer = api.as_(outsider).post(
        url(mine, merge=True), {"state": ours.state, "parent-rev": ours.rev}, format="json"
    )

    assert (answer.status_code, answer.json()["code"]) == (409, "moved"), answer.content
    assert answer.json()["rev"] == later.rev
    assert head(mine) == later and Upstream.objects.get(device=mine).base_rev == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"state": {"#spec": "pantavisor-service-system@1", "../x": "a"}}, 400, None),
        ({"state": "not an object"}, 400, "not_a_dict"),
        ({"parent-rev": 1}, 400, "invalid"),
        ({"state": {"#spec": "pantavisor-service-system@1", "app/x": "f" * 64}}, 409, None),
    ],
)
def test_a_bad_resolution_changes_nothing(
    api, owner, outsider, kiosk, mine, committed, body, status, code
):
    changed(kiosk, owner, committed, port=9090)
    revisions = Step.objects.filter(trail_id=mine.id).count()
    answer = api.as_(outsider).post(url(mine, merge=True), body, format="json")
    assert answer.status_code == status, answer.content
    assert code is None or answer.json()["code"] == code
    assert Step.objects.filter(trail_id=mine.id).count() == revisions
    assert Upstream.objects.get(device=mine).base_rev == 1


def test_a_merge_that_changes_nothing_posts_nothing_but_moves_the_base(
    api, owner, outsider, kiosk, mine, committed
):
    changed(mine, outsider, committed, a=1)
    changed(kiosk, owner, committed, a=1)
    revisions = Step.objects.filter(trail_id=mine.id).count()
    answer = api.as_(outsider).post(url(mine, merge=True), {"rev": 2})
    assert answer.status_code == 200, answer.content
    assert answer.json()["revision"] is None and answer.json()["upstream"]["base-rev"] == 2
    assert Step.objects.filter(trail_id=mine.id).count() == revisions


def test_it_merges_the_revision_asked_for(api, owner, outsider, kiosk, mine, committed):
    changed(kiosk, owner, committed, a=1)
    changed(kiosk, owner, committed, a=2)
    answer = api.as_(outsider).post(url(mine, merge=True), {"rev": 2})
    assert answer.status_code == 201 and answer.json()["revision"]["state"]["app/run.json"] == {
        "a": 1
    }
    assert (answer.json()["upstream"]["base-rev"], answer.json()["upstream"]["behind"]) == (2, 1)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"rev": 9}, 400, "no-such-rev"),
        ({"rev": 2**40}, 400, "no-such-rev"),
        ({"rev": -2}, 400, "min_value"),
        ({"rev": "newest"}, 400, "invalid"),
        ({"rev": 1}, 409, "up-to-date"),
        ({"rev": 0}, 409, "up-to-date"),
    ],
)
def test_it_refuses_bad_merges(api, outsider, mine, body, status, code):
    answer = api.as_(outsider).post(url(mine, merge=True), body, format="json")
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.content


def test_only_the_owner_merges_or_follows(api, owner, outsider, make_user, make_device, mine):
    Device.objects.filter(pk=mine.pk).update(public=True)
    stranger = make_user("bob")
    for method, path, body in (
        ("post", url(mine, merge=True), {}),
        ("put", url(mine), {"follow": True}),
    ):
        for caller, expected in ((owner, 403), (stranger, 403), (mine, 403), (None, 401)):
            answer = getattr(api.as_(caller), method)(path, body, format="json")
            assert answer.status_code == expected, (method, caller, answer.content)
    Device.objects.filter(pk=mine.pk).update(public=False)
    assert api.as_(stranger).post(url(mine, merge=True), {}).status_code == 404
    assert api.as_(stranger).get(url(mine)).status_code == 404
    assert Upstream.objects.get(device=mine).follow is False


def test_a_device_that_is_no_fork_cannot_merge_or_follow(api, owner, kiosk):
    for method, path, body in (
        ("post", url(kiosk, merge=True), {}),
        ("put", url(kiosk), {"follow": True}),
    ):
        answer = getattr(api.as_(owner), method)(path, body, format="json")
        assert (answer.status_code, answer.json()["code"]) == (409, "no-upstream")


# --- Following ------------------------------------------------------------------------


def test_a_following_fork_merges_each_revision_the_upstream_runs(
    api, owner, outsider, kiosk, mine, committed
):
    changed(mine, outsider, committed, mine=True)
    answer = committed(api.as_(outsider).put, url(mine), {"follow": True}, format="json")
    assert answer.status_code == 200 and answer.json()["follow"] is True
    revisions = Step.objects.filter(trail_id=mine.id).count()

    step = changed(kiosk, owner, committed, theirs=1)
    assert Step.objects.filter(trail_id=mine.id).count() == revisions  # NEW: not run yet
    committed(report_progress, step, st.DONE, progress=100)

    merged = head(mine)
    assert merged.commit_msg == f"Merge upstream alice/kiosk rev {step.rev}"
    assert merged.state["app/run.json"] == {"mine": True, "theirs": 1}
    assert Upstream.objects.get(device=mine).base_rev == step.rev
    # The task again, late or twice: nothing more.
    assert upstream.catch_up(mine.id, step.rev) is None
    assert Step.objects.filter(trail_id=mine.id).count() == revisions + 1


def test_following_stops_with_a_notice_on_a_conflict(
    api, client, owner, outsider, kiosk, mine, committed
):
    changed(mine, outsider, committed, port=1)
    committed(upstream.set_follow, outsider, mine, True)
    revisions = Step.objects.filter(trail_id=mine.id).count()
    changed(kiosk, owner, committed, done=True, port=2)
    assert Step.objects.filter(trail_id=mine.id).count() == revisions
    row = Upstream.objects.get(device=mine)
    assert row.follow is False and row.base_rev == 1
    assert row.notice.startswith("Stopped following at upstream revision 2: upstream revision 2")
    assert api.as_(outsider).get(url(mine)).json()["notice"] == row.notice
    client.force_login(outsider)
    page = client.get("/u/mallory/mine/")
    assert page.status_code == 200 and row.notice in page.content.decode()


def test_turning_following_on_merges_what_the_upstream_runs_already(
    outsider, owner, kiosk, mine, committed
):
    step = changed(kiosk, owner, committed, done=True, theirs=1)
    committed(upstream.set_follow, outsider, mine, True)
    assert head(mine).forked_from == step


def test_a_template_upstream_is_followed_as_soon_as_it_posts(
    outsider, make_device, owner, committed, uploaded_state
):
    template = make_device(owner, nick="tpl", public=True, has_hardware=False)
    state = uploaded_state(owner, {"bsp/kernel.img": b"k"}, **{"app/run.json": {}})
    committed(create_trail, template, state)
    committed(services.fork, outsider, template, head(template), nick="copy")
    copy_ = Device.objects.get(owner=outsider, nick="copy")
    committed(upstream.set_follow, outsider, copy_, True)
    step = changed(template, owner, committed, v=2)
    assert head(copy_).forked_from == step


def test_a_fork_that_leads_a_pack_carries_a_merge_to_its_fleet(
    outsider, owner, kiosk, mine, committed, make_device
):
    from packs.models import Rollout
    from packs.services import add_follower, create_pack

    pack = committed(create_pack, outsider, nick="fleet", leader=mine)
    committed(add_follower, pack, make_device(outsider, nick="field-1"))
    changed(kiosk, owner, committed, theirs=1)
    new = committed(upstream.merge_upstream, outsider, mine)
    assert Rollout.objects.filter(pack=pack, leader_step=new).exists()


def test_forking_again_from_elsewhere_stops_following(
    outsider, owner, kiosk, mine, committed, make_device, uploaded_state
):
    committed(upstream.set_follow, outsider, mine, True)
    other = make_device(owner, nick="other", public=True)
    committed(create_trail, other, uploaded_state(owner, {"bsp/kernel.img": b"other"}))
    committed(services.fork, outsider, other, head(other), into=mine)
    row = Upstream.objects.get(device=mine)
    assert (row.source_device, row.follow, row.base_rev) == (other, False, 0)
    committed(upstream.set_follow, outsider, mine, True)
    committed(services.fork, outsider, other, head(other), into=mine)
    assert Upstream.objects.get(device=mine).follow is True  # the same upstream: still on


def test_the_migration_gives_existing_forks_their_upstream(outsider, kiosk, mine):
    from django.apps import apps

    migration = importlib.import_module("community.migrations.0002_upstream")
    Upstream.objects.all().delete()
    migration.upstreams_of_existing_forks(apps, None)
    row = Upstream.objects.get(device=mine)
    assert (row.source_device, row.base_rev, row.follow) == (kiosk, 1, False)


# --- The page -----------------------------------------------------------------------


def test_the_overview_shows_how_far_behind_and_merges_with_a_button(
    client, owner, outsider, kiosk, mine, committed
):
    changed(kiosk, owner, committed, theirs=1)
    client.force_login(outsider)
    body = client.get("/u/mallory/mine/").content.decode()
    assert "1 revision behind upstream" in body and 'href="/u/alice/kiosk/"' in body
    assert "Merge upstream rev 2" in body and "Follow upstream" in body
    response = client.post("/u/mallory/mine/upstream/merge/")
    assert response.status_code == 302 and response["Location"] == "/u/mallory/mine/revisions/1/"
    assert head(mine).commit_msg == "Merge upstream alice/kiosk rev 2"
    body = client.get("/u/mallory/mine/").content.decode()
    assert "Up to date with upstream" in body and "Merge upstream rev" not in body


def test_the_overview_shows_the_conflicts_instead_of_the_button(
    client, owner, outsider, kiosk, mine, committed
):
    changed(mine, outsider, committed, port=1)
    changed(kiosk, owner, committed, port=2)
    client.force_login(outsider)
    body = client.get("/u/mallory/mine/").content.decode()
    assert "/app~1run.json/port" in body and "Merge upstream rev" not in body
    # The button is gone, but a post (an old page) is refused with the reason.
    response = client.post("/u/mallory/mine/upstream/merge/", follow=True)
    assert "Could not merge: upstream revision 2 changes 1 place(s)" in response.content.decode()
    assert head(mine).commit_msg == "change"


def test_the_owner_follows_and_stops_following_from_the_page(client, outsider, mine):
    client.force_login(outsider)
    client.post("/u/mallory/mine/upstream/follow/", {"follow": "on"})
    assert Upstream.objects.get(device=mine).follow is True
    assert "Stop following" in client.get("/u/mallory/mine/").content.decode()
    client.post("/u/mallory/mine/upstream/follow/", {"follow": "off"})
    assert Upstream.objects.get(device=mine).follow is False


def test_others_see_the_upstream_but_no_buttons_and_cannot_post(client, owner, mine, committed):
    Device.objects.filter(pk=mine.pk).update(public=True)
    client.force_login(owner)
    body = client.get("/u/mallory/mine/").content.decode()
    assert "Follows" in body and "Follow upstream" not in body
    for action in ("merge", "follow"):
        assert client.post(f"/u/mallory/mine/upstream/{action}/").status_code == 404
    assert client.get("/u/mallory/mine/upstream/merge/").status_code in (404, 405)
