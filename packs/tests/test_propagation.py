"""A leader's revision reaches every follower, exactly once, through revisions' post_step."""

from __future__ import annotations

import pytest

from packs import rollout as ro
from packs import services
from packs.models import Delivery, PackMember, Rollout
from packs.services import rollouts
from packs.tests.helpers import head, revs, state
from revisions import services as revisions
from revisions.models import Blob, OwnerObject, Step
from trail import status as st


def newest_rollout(pack) -> Rollout:
    return Rollout.objects.filter(pack=pack).order_by("-time_created", "-id").first()


def test_it_posts_a_hardware_leaders_revision_to_followers_once_the_leader_runs_it(
    make_member, make_pack, post, report, owner
):
    leader = make_member("kiosk-leader")
    followers = [make_member() for _ in range(3)]
    pack = make_pack(leader, followers)
    step = post(leader, 2, "bump the app")
    assert [revs(f) for f in followers] == [[0]] * 3  # not before the leader runs it

    report(step, st.DONE)

    for follower in followers:
        got = head(follower)
        assert got.rev == 1
        assert got.state == step.state and got.state_sha == step.state_sha
        assert got.forked_from_id == step.id  # the lineage points at the leader's revision
        assert got.author_id == owner.id
        assert got.commit_msg == "bump the app [pack fleet: kiosk-leader rev 1]"
        assert got.status == st.NEW
    rollout = newest_rollout(pack)
    assert rollout.leader_step_id == step.id and rollout.status == ro.RUNNING


def test_it_follows_an_update_applied_without_reboot(make_member, make_pack, post, report):
    leader = make_member("leader")
    follower = make_member()
    make_pack(leader, [follower])
    step = post(leader, 2)
    report(step, st.INPROGRESS)
    assert revs(follower) == [0]
    report(step, st.UPDATED)
    assert head(follower).state == step.state


def test_it_posts_nothing_for_a_revision_the_leader_failed(make_member, make_pack, post, report):
    leader = make_member("leader")
    follower = make_member()
    pack = make_pack(leader, [follower])
    report(post(leader, 2), st.ERROR)
    report(post(leader, 3), st.WONTGO)
    assert revs(follower) == [0]
    assert Rollout.objects.filter(pack=pack).count() == 1  # only the factory state's


def test_a_leader_without_hardware_leads_as_soon_as_a_revision_is_posted(
    leader, make_member, make_pack, post
):
    followers = [make_member() for _ in range(2)]
    make_pack(leader, followers)
    step = post(leader, 2)
    assert step.status == st.NEW
    assert all(head(f).state_sha == step.state_sha for f in followers)


def test_repeated_signals_and_tasks_post_nothing_twice(
    leader, make_member, make_pack, post, committed
):
    followers = [make_member() for _ in range(3)]
    pack = make_pack(leader, followers)
    step = post(leader, 2)
    rollout = newest_rollout(pack)
    # Everything again: the signal, the rollout task, every delivery.
    committed(services.step_created, step)
    assert committed(services.start_rollout, pack.id, step.id).id == rollout.id
    for delivery in Delivery.objects.filter(rollout=rollout):
        assert committed(services.deliver, delivery.id) == ro.D_POSTED
    assert [revs(f) for f in followers] == [[0, 1]] * 3
    assert Rollout.objects.filter(pack=pack).count() == 2


def test_a_delivery_that_died_before_its_commit_is_posted_once_when_run_again(
    leader, make_member, make_pack, committed, monkeypatch
):
    follower = make_member()
    pack = make_pack(leader, [follower])
    calls = []
    real_finish = rollouts._finish

    def dying_finish(delivery, status, error=""):
        calls.append(status)
        if len(calls) == 1:
            raise SystemExit("worker killed after posting, before committing")
        return real_finish(delivery, status, error)

    monkeypatch.setattr(rollouts, "_finish", dying_finish)
    with pytest.raises(SystemExit):
        committed(revisions.post_step, revisions_trail(leader), state(2), author=leader.owner)
    # The post and its record were one transaction: both rolled back.
    delivery = Delivery.objects.get(rollout=newest_rollout(pack), device=follower)
    assert delivery.status == ro.D_PENDING and delivery.step_id is None
    assert revs(follower) == [0]

    assert committed(services.deliver, delivery.id) == ro.D_POSTED
    assert committed(services.deliver, delivery.id) == ro.D_POSTED
    assert revs(follower) == [0, 1]


def revisions_trail(device):
    from revisions.models import Trail

    return Trail.objects.select_related("device__owner").get(pk=device.id)


def test_it_records_a_state_whose_objects_are_missing_as_a_failed_delivery(
    leader, make_member, make_pack, committed, owner, monkeypatch
):
    follower = make_member()
    pack = make_pack(leader, [follower], failure_threshold=0.5)
    sha = "ab" * 32
    Blob.objects.create(sha256=sha, size=3)
    OwnerObject.objects.create(owner=owner, sha256=sha, size=3, kind="object")
    with_object = {**state(2), "app/root.squashfs": sha}
    step = committed(revisions.post_step, revisions_trail(leader), with_object, author=owner)
    assert head(follower).state == step.state  # the owner's objects are the follower's

    # The next revision's delivery is held back; meanwhile the owner's object goes away.
    monkeypatch.setattr(rollouts, "kick", lambda ids: None)
    changed = {**with_object, "x.json": 1}
    committed(revisions.post_step, revisions_trail(leader), changed, author=owner)
    OwnerObject.objects.filter(sha256=sha).delete()
    delivery = Delivery.objects.get(rollout=newest_rollout(pack), device=follower)
    assert committed(services.deliver, delivery.id) == ro.D_FAILED

    delivery.refresh_from_db()
    assert "not uploaded" in delivery.error and "app/root.squashfs" in delivery.error
    assert revs(follower) == [0, 1]
    assert newest_rollout(pack).status == ro.PAUSED  # 1 of 1 failed: over 50%


def test_a_follower_that_joins_later_catches_up_to_the_leaders_revision(
    leader, make_member, make_pack, post, committed
):
    first = make_member()
    pack = make_pack(leader, [first], canary_share=0.5, wave_size=1)
    step = post(leader, 2)
    late = make_member()
    committed(services.add_follower, pack, late)
    assert head(late).state_sha == step.state_sha
    delivery = Delivery.objects.get(device=late)
    assert delivery.wave is None and delivery.previous.rev == 0


def test_a_follower_already_on_the_leaders_state_gets_no_new_revision(
    leader, make_member, make_pack, committed
):
    pack = make_pack(leader)
    follower = make_member()  # same factory state as the leader
    committed(services.add_follower, pack, follower)
    assert revs(follower) == [0]
    delivery = Delivery.objects.get(device=follower)
    assert delivery.status == ro.D_CURRENT and delivery.step.rev == 0


def test_a_follower_without_a_factory_revision_catches_up_when_it_posts_one(
    leader, make_device, make_pack, post, committed, owner
):
    pack = make_pack(leader)
    step = post(leader, 2)
    fresh = make_device(owner, nick="unboxed")
    committed(services.add_follower, pack, fresh)
    delivery = Delivery.objects.get(device=fresh)
    # Not a failure: it waits (and its wave would wait for it) until the device starts.
    assert delivery.status == ro.D_PENDING and "factory revision" in delivery.error
    assert delivery.outcome == ro.WAITING

    committed(revisions.create_trail, fresh, state(0))
    assert revs(fresh) == [0, 1]
    assert head(fresh).state_sha == step.state_sha
    assert Delivery.objects.get(device=fresh).status == ro.D_POSTED


def test_a_newer_leader_revision_supersedes_the_rollout_in_progress(
    leader, make_member, make_pack, post
):
    followers = [make_member() for _ in range(4)]
    pack = make_pack(leader, followers, wave_size=2)
    post(leader, 2)
    first = newest_rollout(pack)
    assert [len(revs(f)) for f in followers] == [2, 2, 1, 1]  # wave 1 only

    newer = post(leader, 3)
    first.refresh_from_db()
    assert first.status == ro.SUPERSEDED
    assert list(first.waves.values_list("status", flat=True)) == [ro.STOPPED, ro.SKIPPED]
    second = newest_rollout(pack)
    assert second.leader_step_id == newer.id
    # The first wave gets the newer revision; the second wave never got the older one.
    assert [head(f).state_sha for f in followers[:2]] == [newer.state_sha] * 2
    assert [revs(f) for f in followers] == [[0, 1, 2], [0, 1, 2], [0], [0]]


def test_a_late_signal_for_an_older_leader_revision_starts_nothing(
    leader, make_member, make_pack, post, committed
):
    pack = make_pack(leader, [make_member()])
    older = post(leader, 2)
    post(leader, 3)
    count = Rollout.objects.filter(pack=pack).count()
    Rollout.objects.filter(leader_step=older).delete()
    assert committed(services.start_rollout, pack.id, older.id) is None
    assert Rollout.objects.filter(pack=pack).count() == count - 1


def test_revisions_flow_down_a_chain_of_packs(make_member, make_pack, post, committed, owner):
    top = make_member("top", hardware=False)
    middle = make_member("middle", hardware=False)
    bottom = make_member("bottom")
    make_pack(top, [middle], nick="upper")
    make_pack(middle, [bottom], nick="lower")
    step = post(top, 7)
    assert head(middle).state_sha == step.state_sha
    assert head(bottom).state_sha == step.state_sha
    assert head(bottom).forked_from_id == head(middle).id


def test_a_follower_that_leaves_gets_nothing_more(leader, make_member, make_pack, post, committed):
    followers = [make_member() for _ in range(2)]
    pack = make_pack(leader, followers, wave_size=1)
    post(leader, 2)
    committed(services.remove_follower, pack, followers[1])
    delivery = Delivery.objects.get(rollout=newest_rollout(pack), device=followers[1])
    assert delivery.status == ro.D_CANCELLED
    assert not PackMember.objects.filter(device=followers[1]).exists()
    assert revs(followers[1]) == [0]


def test_a_new_leader_rolls_its_revision_out(leader, make_member, make_pack, post, committed):
    follower = make_member()
    pack = make_pack(leader, [follower])
    other = make_member("other-leader", hardware=False)
    committed(revisions.post_step, revisions_trail(other), state(9), author=other.owner)
    committed(services.update_pack, pack, leader=other)
    assert head(follower).state == state(9)
    assert newest_rollout(pack).leader_step.trail_id == other.id


def test_step_reports_that_decide_nothing_cost_no_query(
    leader, make_member, make_pack, post, django_assert_num_queries
):
    follower = make_member()
    make_pack(leader, [follower])
    post(leader, 2)
    step = head(follower)
    step.status = st.DOWNLOADING
    with django_assert_num_queries(0):
        services.step_progressed(step)
    assert Step.objects.filter(trail_id=follower.id).count() == 2


def test_a_broker_away_does_not_fail_the_leaders_report_and_the_sweep_delivers(
    make_member, make_pack, post, api, committed, request, caplog
):
    """The broker is down when the leader reports DONE (real kombu publishing to a closed port)."""
    leader = make_member("leader")
    follower = make_member()
    pack = make_pack(leader, [follower])
    step = post(leader, 2)
    broker = request.getfixturevalue("broker_down")

    answer = committed(
        api.as_(leader).put,
        f"/trails/{leader.id}/steps/1/progress",
        {"status": "DONE", "progress": 100},
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    [error] = [r for r in caplog.records if r.name == "portal.queue"]
    assert "could not queue packs.tasks.start_rollout" in error.getMessage()
    assert f"({pack.id!r}, {step.id})" in error.getMessage()
    caplog.clear()
    assert revs(follower) == [0]

    # The broker is back: the periodic sweep starts the rollout that was never queued.
    broker.back()
    committed(services.sweep)
    assert newest_rollout(pack).leader_step_id == step.id
    assert head(follower).state_sha == step.state_sha


def test_it_cuts_a_followers_commit_message_to_what_a_revision_holds(
    make_member, make_pack, post, report
):
    """Step.commit_msg holds 10,000 characters; the pack's origin is appended to the leader's."""
    # kills: services/rollouts.py:263 [:10_000] -> [:9999]
    leader = make_member("kiosk-leader")
    follower = make_member()
    make_pack(leader, [follower])
    report(post(leader, 2, "x" * 10_000), st.DONE)
    assert head(follower).commit_msg == "x" * 10_000


def test_a_follower_running_the_leaders_state_has_no_previous_revision(
    leader, make_member, make_pack, committed, report
):
    # kills: services/rollouts.py:236 "!=" -> "<=" (the running revision named its own previous)
    pack = make_pack(leader)
    follower = make_member()  # same factory state as the leader
    report(head(follower), st.DONE)
    committed(services.add_follower, pack, follower)
    delivery = Delivery.objects.get(device=follower)
    assert delivery.status == ro.D_CURRENT and delivery.step.rev == 0
    assert delivery.previous is None
