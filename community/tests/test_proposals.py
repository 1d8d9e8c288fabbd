"""Revision proposals (pull requests for devices): the API under /trails/<id>/proposals,
the pages (the Proposals tab, a proposal with its diff, comments and the merge button)
and the dashboard's list."""

from __future__ import annotations

import copy
import hashlib

import pytest

from community import services
from community.models import Proposal, ProposalComment
from community.services import proposals
from devices.models import Device
from revisions.models import OwnerObject, Step, StepObject
from revisions.services.steps import post_step

pytestmark = pytest.mark.django_db

NEW_APP = b"the app, version 2\nfaster\n"
OLD_APP = b"the app, version 1\n"


@pytest.fixture
def mine(outsider, kiosk, committed):
    """mallory/mine: a private fork of alice/kiosk at revision 1."""
    step = Step.objects.get(trail_id=kiosk.id, rev=1)
    committed(services.fork, outsider, kiosk, step, nick="mine")
    return Device.objects.get(owner=outsider, nick="mine")


def head(device) -> Step:
    return Step.objects.filter(trail_id=device.id).order_by("-rev").first()


def changed(device, who, committed, objects=None, uploaded_state=None, **json_members) -> Step:
    """Post ``device``'s newest state again with members set in its app/run.json (and
    objects uploaded by ``who``)."""
    state = copy.deepcopy(head(device).state)
    state["app/run.json"].update(json_members)
    if objects:
        state.update({k: v for k, v in uploaded_state(who, objects).items() if k in objects})
    return committed(post_step, device.trail, state, author=who, commit_msg="change")


@pytest.fixture
def proposed(api, outsider, kiosk, mine, committed, uploaded_state):
    """mallory proposes her change of mine (a new app object, a JSON member) to alice/kiosk."""
    changed(mine, outsider, committed, {"app/root.squashfs": NEW_APP}, uploaded_state, fast=True)
    answer = committed(
        api.as_(outsider).post,
        f"/trails/{kiosk.id}/proposals",
        {"from": mine.id, "title": "A faster app", "body": "It starts in half the time."},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    return answer.json()


def url(device, tail: str = "") -> str:
    return f"/trails/{device.id}/proposals" + tail


# --- The API ------------------------------------------------------------------------------


def test_it_opens_a_proposal_with_its_diff_and_says_it_merges(proposed, kiosk, mine):
    assert proposed["number"] == 1 and proposed["status"] == "open"
    assert proposed["proposer"] == "mallory" and proposed["title"] == "A faster app"
    assert proposed["source"] == {"device": mine.id, "label": "mallory/mine", "rev": 1}
    # mine was forked from kiosk at rev 1: that is where the merge starts.
    assert proposed["base"] == {"device": kiosk.id, "label": "alice/kiosk", "rev": 1}
    assert proposed["head-rev"] == 1 and proposed["mergeable"] is True
    assert proposed["conflicts"] == [] and proposed["signatures"] is None
    diff = {change["key"]: change for change in proposed["diff"]}
    assert set(diff) == {"app/root.squashfs", "app/run.json"}
    assert diff["app/run.json"]["lines"][-2:] == ["-{}", '+{"fast":true}'] or any(
        line.startswith("+") and "fast" in line for line in diff["app/run.json"]["lines"]
    )
    # The object's bytes read as text through the proposed revision: a line diff.
    assert "+faster" in diff["app/root.squashfs"]["lines"]
    assert diff["app/root.squashfs"]["new"] == hashlib.sha256(NEW_APP).hexdigest()


def test_it_lists_them_numbered_per_device(api, proposed, outsider, kiosk, mine, committed):
    changed(mine, outsider, committed, more=1)
    second = api.as_(outsider).post(url(kiosk), {"from": "mine", "title": "More"}, format="json")
    assert second.status_code == 201 and second.json()["number"] == 2
    listed = api.as_(None).get(url(kiosk)).json()
    assert [(p["number"], p["status"]) for p in listed] == [(2, "open"), (1, "open")]
    assert api.get(url(kiosk) + "?status=merged").json() == []
    bad = api.get(url(kiosk) + "?status=perhaps")
    assert (bad.status_code, bad.json()["code"]) == (400, "bad-status")


def test_the_owner_merges_as_the_proposer_with_the_objects_linked(
    api, proposed, owner, outsider, kiosk, committed
):
    sha = hashlib.sha256(NEW_APP).hexdigest()
    assert not OwnerObject.objects.filter(owner=owner, sha256=sha).exists()

    answer = committed(api.as_(owner).post, url(kiosk, "/1/merge"), format="json")

    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["revision"]["rev"] == 2
    assert body["revision"]["commit-msg"] == "Merge proposal #1: A faster app"
    assert (body["proposal"]["status"], body["proposal"]["merged-rev"]) == ("merged", 2)
    assert body["proposal"]["closed-by"] == "alice" and body["proposal"]["mergeable"] is False
    new = head(kiosk)
    assert new.author == outsider and "proposal #1" in new.commit_msg
    assert new.state["app/root.squashfs"] == sha and new.state["app/run.json"] == {"fast": True}
    # The target's owner holds the object now: it is served with the revision.
    assert OwnerObject.objects.get(owner=owner, sha256=sha).kind == "link"
    assert StepObject.objects.held().filter(step=new, sha256=sha).exists()
    # The proposal's diff is now what the merge changed.
    shown = api.get(url(kiosk, "/1")).json()
    assert {c["key"] for c in shown["diff"]} == {"app/root.squashfs", "app/run.json"}
    again = api.post(url(kiosk, "/1/merge"))
    assert (again.status_code, again.json()["code"]) == (409, "not-open")


def test_a_conflict_answers_each_place_and_changes_nothing(
    api, owner, outsider, kiosk, mine, committed
):
    changed(mine, outsider, committed, port=8080)
    made = api.as_(outsider).post(url(kiosk), {"from": mine.id, "title": "Port"}, format="json")
    assert made.status_code == 201
    changed(kiosk, owner, committed, port=9090)
    shown = api.get(url(kiosk, "/1")).json()
    assert shown["mergeable"] is False
    assert shown["conflicts"] == [{"path": "/app~1run.json/port", "ours": 9090, "theirs": 8080}]
    revisions = Step.objects.filter(trail_id=kiosk.id).count()

    answer = api.as_(owner).post(url(kiosk, "/1/merge"))

    assert (answer.status_code, answer.json()["code"]) == (409, "conflicts")
    assert answer.json()["conflicts"] == shown["conflicts"]
    assert Step.objects.filter(trail_id=kiosk.id).count() == revisions
    assert Proposal.objects.get(target=kiosk, number=1).status == "open"


def test_a_merge_that_would_break_the_signing_rule_is_refused(api, proposed, owner, kiosk):
    Device.objects.filter(pk=kiosk.pk).update(require_signatures=True)
    shown = api.as_(owner).get(url(kiosk, "/1")).json()
    assert shown["signatures"]["met"] is False and shown["mergeable"] is False
    assert "app/root.squashfs" in shown["signatures"]["uncovered"]
    revisions = Step.objects.filter(trail_id=kiosk.id).count()
    answer = api.post(url(kiosk, "/1/merge"))
    assert (answer.status_code, answer.json()["code"]) == (422, "unsigned")
    assert Step.objects.filter(trail_id=kiosk.id).count() == revisions
    assert Proposal.objects.get(target=kiosk, number=1).status == "open"
    sha = hashlib.sha256(NEW_APP).hexdigest()
    assert not OwnerObject.objects.filter(owner=owner, sha256=sha).exists()


def test_anyone_who_sees_it_comments_and_the_proposal_lists_them(
    api, proposed, owner, make_user, kiosk
):
    bob = make_user("bob")
    for who, text in ((bob, "Nice."), (owner, "Thanks!")):
        made = api.as_(who).post(url(kiosk, "/1/comments"), {"body": text}, format="json")
        assert made.status_code == 201 and made.json()["author"] == who.username
    shown = api.as_(None).get(url(kiosk, "/1")).json()
    assert [(c["author"], c["body"]) for c in shown["comments"]] == [
        ("bob", "Nice."),
        ("alice", "Thanks!"),
    ]
    empty = api.as_(bob).post(url(kiosk, "/1/comments"), {"body": "  "}, format="json")
    assert (empty.status_code, empty.json()["code"]) == (400, "comment-required")


def test_the_proposer_or_the_owner_closes_nobody_else(
    api, proposed, owner, outsider, make_user, kiosk
):
    bob = make_user("bob")
    refused = api.as_(bob).post(url(kiosk, "/1/close"))
    assert (refused.status_code, refused.json()["code"]) == (403, "owner-or-proposer")
    closed = api.as_(outsider).post(url(kiosk, "/1/close"))
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert closed.json()["closed-by"] == "mallory"
    again = api.as_(owner).post(url(kiosk, "/1/close"))
    assert (again.status_code, again.json()["code"]) == (409, "not-open")
    merge = api.as_(owner).post(url(kiosk, "/1/merge"))
    assert (merge.status_code, merge.json()["code"]) == (409, "not-open")


def test_the_proposer_cannot_merge_nor_write_to_the_target(
    api, proposed, outsider, kiosk, make_user
):
    revisions = Step.objects.filter(trail_id=kiosk.id).count()
    for who, code in ((outsider, 403), (make_user("bob"), 403), (kiosk, 403), (None, 401)):
        answer = api.as_(who).post(url(kiosk, "/1/merge"))
        assert answer.status_code == code, (who, answer.content)
    assert Step.objects.filter(trail_id=kiosk.id).count() == revisions
    post = api.as_(outsider).post(
        f"/trails/{kiosk.id}/steps",
        {"rev": -1, "commit-msg": "x", "state": head(kiosk).state},
        format="json",
    )
    assert post.status_code == 403


def test_a_private_target_is_not_there_for_others(
    api, owner, outsider, kiosk, mine, committed, make_user
):
    changed(mine, outsider, committed, x=1)
    assert api.as_(outsider).post(url(kiosk), {"from": mine.id, "title": "t"}, format="json")
    Device.objects.filter(pk=kiosk.pk).update(public=False)
    bob = make_user("bob")
    for who in (outsider, bob):
        for method, tail in (
            ("get", ""),
            ("post", ""),
            ("get", "/1"),
            ("post", "/1/comments"),
            ("post", "/1/merge"),
            ("post", "/1/close"),
        ):
            answer = getattr(api.as_(who), method)(
                url(kiosk, tail), {"from": mine.id, "title": "t", "body": "b"}, format="json"
            )
            assert answer.status_code == 404, (who, method, tail, answer.content)
    assert api.as_(None).get(url(kiosk)).status_code == 401
    assert api.as_(owner).get(url(kiosk)).json()[0]["number"] == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"from": "mine", "title": ""}, 400, "title-required"),
        ({"from": "mine", "title": "x" * 201}, 400, "title-too-long"),
        ({"from": "mine", "title": "t", "body": "x" * 20001}, 400, "body-too-long"),
        ({"from": "mine", "title": "t", "rev": 9}, 400, "no-such-rev"),
        ({"from": "mine", "title": "t", "rev": -1}, 400, "min_value"),
        ({"from": "nothing-here", "title": "t"}, 404, "not_found"),
        ({"title": "t"}, 400, "required"),
        ({"from": "mine", "title": "t", "rev": 0}, 409, "nothing-to-propose"),
    ],
)
def test_it_refuses_bad_proposals(api, outsider, kiosk, mine, body, status, code):
    answer = api.as_(outsider).post(url(kiosk), body, format="json")
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.content
    assert not Proposal.objects.exists()


def test_only_your_own_revisions_and_never_to_itself(api, owner, outsider, kiosk, mine):
    Device.objects.filter(pk=mine.pk).update(public=True)
    theirs = api.as_(owner).post(url(kiosk), {"from": mine.id, "title": "t"}, format="json")
    assert (theirs.status_code, theirs.json()["code"]) == (403, "owner-only")
    itself = api.as_(owner).post(url(kiosk), {"from": kiosk.id, "title": "t"}, format="json")
    assert (itself.status_code, itself.json()["code"]) == (400, "propose-to-itself")
    device = api.as_(mine).post(url(kiosk), {"from": mine.id, "title": "t"}, format="json")
    assert (device.status_code, device.json()["code"]) == (403, "person-only")


def test_the_same_revision_is_proposed_once_while_open(api, proposed, outsider, kiosk, mine):
    again = api.as_(outsider).post(url(kiosk), {"from": mine.id, "title": "t"}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "already-proposed")


def test_a_device_that_is_no_fork_proposes_against_the_targets_newest(
    api, owner, outsider, kiosk, make_device, committed, uploaded_state
):
    from revisions.services.steps import create_trail

    other = make_device(outsider, nick="other")
    state = copy.deepcopy(head(kiosk).state)
    state["device.json"] = {"hello": "mallory"}
    state.update(uploaded_state(outsider, {"bsp/kernel.img": b"k"}))
    committed(create_trail, other, state)
    made = api.as_(outsider).post(url(kiosk), {"from": "other", "title": "t"}, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["base"] == {"device": kiosk.id, "label": "alice/kiosk", "rev": 1}
    merged = api.as_(owner).post(url(kiosk, "/1/merge"))
    assert merged.status_code == 201, merged.content
    assert head(kiosk).state == state


# --- Pages --------------------------------------------------------------------------------


def test_the_proposals_tab_lists_them(client, proposed, kiosk):
    body = client.get("/u/alice/kiosk/proposals/").content.decode()
    assert "Proposals" in body and "A faster app" in body and "#1" in body
    assert 'href="/u/alice/kiosk/proposals/1/"' in body
    assert 'href="/u/alice/kiosk/proposals/"' in client.get("/u/alice/kiosk/").content.decode()


def test_the_proposal_page_shows_the_line_diff_and_the_button_to_the_owner_only(
    client, proposed, owner, outsider, kiosk
):
    page = "/u/alice/kiosk/proposals/1/"
    client.force_login(outsider)
    body = client.get(page).content.decode()
    assert "A faster app" in body and "It starts in half the time." in body
    assert '<span class="l ins">+faster' in body
    assert "Merges cleanly" in body
    assert "/proposals/1/merge/" not in body and "Close proposal" in body  # the proposer closes
    client.force_login(owner)
    body = client.get(page).content.decode()
    assert 'action="/u/alice/kiosk/proposals/1/merge/"' in body
    assert "csrfmiddlewaretoken" in body


def test_the_owner_merges_from_the_page_with_csrf(proposed, owner, kiosk, outsider):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    page = browser.get("/u/alice/kiosk/proposals/1/")
    assert browser.post("/u/alice/kiosk/proposals/1/merge/").status_code == 403  # no token
    token = page.cookies["csrftoken"].value
    response = browser.post("/u/alice/kiosk/proposals/1/merge/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert response["Location"] == "/u/alice/kiosk/revisions/2/"
    assert head(kiosk).author == outsider
    assert Proposal.objects.get(target=kiosk, number=1).status == "merged"


def test_others_cannot_merge_from_the_page(client, proposed, outsider, make_user, kiosk):
    for who in (outsider, make_user("bob")):
        client.force_login(who)
        assert client.post("/u/alice/kiosk/proposals/1/merge/").status_code == 404
    assert Proposal.objects.get(target=kiosk, number=1).status == "open"


def test_comments_and_close_from_the_page(client, proposed, outsider, kiosk):
    client.force_login(outsider)
    page = "/u/alice/kiosk/proposals/1/"
    client.post(page + "comments/", {"body": "Ready for review."})
    assert "Ready for review." in client.get(page).content.decode()
    assert ProposalComment.objects.count() == 1
    client.post(page + "close/")
    assert Proposal.objects.get(target=kiosk, number=1).status == "closed"


def test_the_page_shows_the_conflicts(client, owner, outsider, kiosk, mine, committed):
    changed(mine, outsider, committed, port=1)
    proposals.open_proposal(outsider, kiosk, head(mine), "Port")
    changed(kiosk, owner, committed, port=2)
    client.force_login(owner)
    body = client.get("/u/alice/kiosk/proposals/1/").content.decode()
    assert "/app~1run.json/port" in body and "/proposals/1/merge/" not in body


def test_a_logged_in_person_proposes_from_the_page(client, outsider, kiosk, mine, committed):
    changed(mine, outsider, committed, x=1)
    client.force_login(outsider)
    form = client.get("/u/alice/kiosk/proposals/new/")
    assert form.status_code == 200 and "mine" in form.content.decode()
    response = client.post(
        "/u/alice/kiosk/proposals/new/", {"source": mine.id, "title": "From the page"}
    )
    assert response.status_code == 302 and response["Location"] == "/u/alice/kiosk/proposals/1/"
    assert Proposal.objects.get(target=kiosk).title == "From the page"


def test_the_dashboard_lists_the_proposers_proposals(client, proposed, outsider, kiosk):
    client.force_login(outsider)
    body = client.get("/dashboard/").content.decode()
    assert "Your proposals" in body and "A faster app" in body
    assert 'href="/u/alice/kiosk/proposals/1/"' in body and "open" in body


def test_the_lists_cost_the_same_queries_however_many_proposals(
    api, client, outsider, kiosk, mine, committed
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def propose(n: int) -> None:
        for i in range(n):
            step = changed(mine, outsider, committed, n=f"{n}-{i}")
            proposals.open_proposal(outsider, kiosk, step, f"change {n}-{i}")

    def counts() -> tuple[int, int, int]:
        found = []
        for get in (
            lambda: api.as_(None).get(url(kiosk)),
            lambda: client.get("/u/alice/kiosk/proposals/"),
            lambda: client.get("/dashboard/"),
        ):
            with CaptureQueriesContext(connection) as queries:
                assert get().status_code == 200
            found.append(len(queries))
        return found[0], found[1], found[2]

    client.force_login(outsider)
    propose(1)
    few = counts()
    propose(6)
    assert counts() == few
    assert len(api.get(url(kiosk)).json()) == 7


def test_the_page_says_when_the_merge_would_break_the_signing_rule(client, proposed, owner, kiosk):
    Device.objects.filter(pk=kiosk.pk).update(require_signatures=True)
    client.force_login(owner)
    body = client.get("/u/alice/kiosk/proposals/1/").content.decode()
    assert "Breaks the signing rule of kiosk" in body and "app/root.squashfs" in body
    assert "/proposals/1/merge/" not in body


def test_a_merged_proposal_shows_its_revision_and_what_it_changed(
    client, proposed, owner, kiosk, committed
):
    committed(proposals.merge, owner, Proposal.objects.get(target=kiosk, number=1))
    body = client.get("/u/alice/kiosk/proposals/1/").content.decode()
    assert "Merged by alice as" in body and 'href="/u/alice/kiosk/revisions/2/"' in body
    assert "What rev 2 changed" in body and '<span class="l ins">+faster' in body
    listed = client.get("/u/alice/kiosk/proposals/?status=merged").content.decode()
    assert "A faster app" in listed and "as rev 2" in listed
