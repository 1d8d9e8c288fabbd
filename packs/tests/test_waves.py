"""Waves: the canary first, pausing on failures, the owner's resume, abort and revert, timeouts."""

from __future__ import annotations

import datetime as dt

import pytest

from packs import rollout as ro
from packs import services
from packs.models import Delivery, Pack, Rollout, Wave
from packs.services import rollouts
from packs.tests.helpers import head, revs, state
from portal.errors import Conflict
from trail import status as st


@pytest.fixture
def fleet(leader, make_member, make_pack):
    """A pack of 10 followers: a canary of 2, then waves of 4; pausing above 25% failures."""
    followers = [make_member(f"f{i:02d}") for i in range(10)]
    pack = make_pack(
        leader, followers, canary_share=0.2, wave_size=4, failure_threshold=0.25, wave_timeout=600
    )
    return pack, followers


def current(pack) -> Rollout:
    return Rollout.objects.filter(pack=pack).order_by("-time_created", "-id").first()


def waves(rollout) -> list[str]:
    return list(rollout.waves.order_by("number").values_list("status", flat=True))


def finish(report, devices, status=st.DONE):
    for device in devices:
        report(head(device), status)


def test_it_posts_to_the_canary_first_then_wave_after_wave(fleet, post, report):
    pack, followers = fleet
    step = post(pack.leader, 2)
    rollout = current(pack)
    assert waves(rollout) == [ro.WAVE_RUNNING, ro.PENDING, ro.PENDING]
    assert [len(revs(f)) for f in followers] == [2, 2] + [1] * 8  # the canary: first joined

    finish(report, followers[:2])
    assert waves(current(pack)) == [ro.PASSED, ro.WAVE_RUNNING, ro.PENDING]
    assert [len(revs(f)) for f in followers] == [2] * 6 + [1] * 4

    finish(report, followers[2:6])
    finish(report, followers[6:])
    rollout = current(pack)
    assert rollout.status == ro.COMPLETED and rollout.time_finished is not None
    assert waves(rollout) == [ro.PASSED] * 3
    assert all(head(f).state_sha == step.state_sha and head(f).status == st.DONE for f in followers)


def test_a_failing_canary_pauses_the_rollout_before_the_others_get_anything(fleet, post, report):
    pack, followers = fleet
    post(pack.leader, 2)
    report(head(followers[0]), st.ERROR)  # 1 of 2: 50% > 25%, no need to wait for the other

    rollout = current(pack)
    assert rollout.status == ro.PAUSED
    assert waves(rollout) == [ro.FAILED, ro.PENDING, ro.PENDING]
    assert "1 of 2 devices failed (50%), over the threshold of 25%" in rollout.status_msg
    assert [revs(f) for f in followers[2:]] == [[0]] * 8
    report(head(followers[1]), st.DONE)
    assert current(pack).status == ro.PAUSED  # the canary finishing changes nothing


def test_refusals_count_as_failures_and_failures_under_the_threshold_do_not_pause(
    fleet, post, report
):
    pack, followers = fleet
    post(pack.leader, 2)
    finish(report, followers[:2])
    report(head(followers[2]), st.WONTGO)  # 1 of 4 = 25%: not over the threshold
    finish(report, followers[3:6])
    assert waves(current(pack))[:2] == [ro.PASSED, ro.PASSED]
    report(head(followers[6]), st.WONTGO)
    report(head(followers[7]), st.ERROR)  # 2 of 4 = 50%
    assert current(pack).status == ro.PAUSED
    assert waves(current(pack)) == [ro.PASSED, ro.PASSED, ro.FAILED]


def test_resume_starts_the_next_wave(fleet, post, report, committed):
    pack, followers = fleet
    post(pack.leader, 2)
    report(head(followers[0]), st.ERROR)
    rollout = committed(services.resume, current(pack))
    assert rollout.status == ro.RUNNING
    assert waves(rollout) == [ro.FAILED, ro.WAVE_RUNNING, ro.PENDING]
    assert [len(revs(f)) for f in followers[2:6]] == [2] * 4

    with pytest.raises(Conflict, match="only a paused rollout can be resumed"):
        committed(services.resume, rollout)


def test_resume_after_the_last_wave_failed_completes_the_rollout(
    leader, make_member, make_pack, post, report, committed
):
    follower = make_member()
    pack = make_pack(leader, [follower], failure_threshold=0.0)
    post(leader, 2)
    report(head(follower), st.ERROR)
    assert current(pack).status == ro.PAUSED
    assert committed(services.resume, current(pack)).status == ro.COMPLETED


def test_abort_stops_everything_that_was_not_posted(fleet, post, report, committed):
    pack, followers = fleet
    post(pack.leader, 2)
    report(head(followers[0]), st.ERROR)
    rollout = committed(services.abort, current(pack))
    assert rollout.status == ro.ABORTED
    assert waves(rollout) == [ro.FAILED, ro.SKIPPED, ro.SKIPPED]
    cancelled = Delivery.objects.filter(rollout=rollout, status=ro.D_CANCELLED).count()
    assert cancelled == 8
    with pytest.raises(Conflict, match="cannot resume a rollout that is aborted"):
        committed(services.resume, rollout)
    with pytest.raises(Conflict, match="cannot abort a rollout that is aborted"):
        committed(services.abort, rollout)
    assert [revs(f) for f in followers[2:]] == [[0]] * 8


def test_revert_posts_the_previous_state_back_to_the_wave_that_took_it(
    fleet, post, report, committed
):
    pack, followers = fleet
    post(pack.leader, 2)
    finish(report, followers[:2])
    report(head(followers[2]), st.ERROR)
    report(head(followers[3]), st.DONE)  # wave 2: one failed, one done, two installing

    rollout = committed(services.revert, current(pack), 2)
    assert rollout.status == ro.REVERTED
    assert waves(rollout) == [ro.PASSED, ro.WAVE_REVERTED, ro.SKIPPED]
    # The failed device went back by itself; the one that runs it gets its factory state
    # again; those that had not picked it up have it cancelled.
    assert revs(followers[2]) == [0, 1]
    assert revs(followers[3]) == [0, 1, 2]
    assert head(followers[3]).state == state(0)
    assert head(followers[3]).commit_msg.startswith("revert to rev 0 [pack fleet:")
    assert head(followers[3]).forked_from.rev == 0
    for device in followers[4:6]:
        assert revs(device) == [0, 1]
        assert head(device).status == st.CANCEL
    assert [revs(f) for f in followers[:2]] == [[0, 1]] * 2  # the canary is not reverted
    assert [revs(f) for f in followers[6:]] == [[0]] * 4

    # Reverting the canary too; the same wave twice is refused.
    committed(services.revert, rollout, 1)
    assert [revs(f) for f in followers[:2]] == [[0, 1, 2]] * 2
    with pytest.raises(Conflict, match="already reverted"):
        committed(services.revert, rollout, 1)
    with pytest.raises(Conflict, match="has not started"):
        committed(services.revert, rollout, 3)


def test_a_newer_leader_revision_supersedes_a_paused_rollout(fleet, post, report):
    """A paused rollout must not block the leader's next revision: the fix usually comes
    as one. Kills the mutant that takes "supersede" from PAUSED (tests.md M17)."""
    pack, followers = fleet
    post(pack.leader, 2)
    report(head(followers[0]), st.ERROR)
    paused = current(pack)
    assert paused.status == ro.PAUSED

    newer = post(pack.leader, 3)
    paused.refresh_from_db()
    assert paused.status == ro.SUPERSEDED
    assert current(pack).leader_step_id == newer.id
    assert current(pack).status == ro.RUNNING
    assert head(followers[0]).state_sha == newer.state_sha  # the canary gets the fix


def test_wave_tallies_count_releases_not_reverts(fleet, post, report, committed):
    """After a revert, the wave's counts are still its release's outcomes. Kills the
    mutant that lets revert deliveries into the tallies (tests.md M18)."""
    pack, followers = fleet
    post(pack.leader, 2)
    finish(report, followers[:2])
    rollout = committed(services.revert, current(pack), 1)
    finish(report, followers[:2])  # the canary runs the reverted state now
    canary = rollout.waves.get(number=1)
    assert services.wave_tally(canary) == ro.Tally(2, 0, 0, 0)


def test_revert_posts_nothing_twice(fleet, post, report, committed):
    pack, followers = fleet
    post(pack.leader, 2)
    finish(report, followers[:2])
    rollout = committed(services.revert, current(pack), 1)
    for delivery in Delivery.objects.filter(rollout=rollout, kind=ro.REVERT):
        assert committed(services.deliver, delivery.id) == ro.D_POSTED
    assert [revs(f) for f in followers[:2]] == [[0, 1, 2]] * 2


def test_only_the_newest_rollout_can_be_reverted(fleet, post, committed):
    pack, _ = fleet
    post(pack.leader, 2)
    older = current(pack)
    post(pack.leader, 3)
    older.refresh_from_db()
    with pytest.raises(Conflict, match="newest rollout"):
        committed(services.revert, older)


def _age(rollout, seconds: int) -> None:
    """Make the running wave look ``seconds`` older (instead of sleeping)."""
    wave = rollout.waves.get(status=ro.WAVE_RUNNING)
    Wave.objects.filter(pk=wave.pk).update(
        time_started=wave.time_started - dt.timedelta(seconds=seconds)
    )


def test_a_wave_past_its_timeout_is_judged_when_the_pack_is_read(
    fleet, post, report, api, owner, committed
):
    pack, followers = fleet
    post(pack.leader, 2)
    report(head(followers[0]), st.DONE)  # the other canary device never answers
    rollout = current(pack)
    answer = api.as_(owner).get(f"/packs/{pack.id}")
    assert answer.json()["rollout"]["current-wave"] == 1  # not yet: 10 minutes to go

    _age(rollout, 601)
    answer = committed(api.as_(owner).get, f"/packs/{pack.id}")
    body = answer.json()
    assert body["rollout"]["current-wave"] == 2
    assert body["rollout"]["waves"][0]["status"] == ro.PASSED
    assert "1 not finished after 600s" in body["rollout"]["waves"][0]["status-msg"]
    assert [len(revs(f)) for f in followers[2:6]] == [2] * 4


def test_the_periodic_sweep_judges_waves_past_their_timeout(fleet, post, committed):
    from packs import tasks

    pack, _ = fleet
    post(pack.leader, 2)
    _age(current(pack), 601)
    assert committed(tasks.sweep_rollouts.delay).get() == 1
    assert waves(current(pack))[:2] == [ro.PASSED, ro.WAVE_RUNNING]


def test_the_sweep_is_a_registered_periodic_task():
    from django.conf import settings

    from trailhub.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["packs.sweep-rollouts"]
    assert entry["task"] in app.tasks and entry["schedule"] == 30
    for name in ("start_rollout", "deliver", "evaluate_rollout"):
        task = app.tasks[f"packs.tasks.{name}"]
        assert task.acks_late and task.reject_on_worker_lost


def test_the_sweep_queues_again_deliveries_whose_message_was_lost(
    leader, make_member, make_pack, post, committed, monkeypatch
):
    followers = [make_member() for _ in range(3)]
    pack = make_pack(leader, followers)
    monkeypatch.setattr(rollouts, "kick", lambda ids: None)  # the broker lost the messages
    post(leader, 2)
    monkeypatch.undo()
    assert [revs(f) for f in followers] == [[0]] * 3

    committed(services.sweep)  # too early: the messages may still be on their way
    assert [revs(f) for f in followers] == [[0]] * 3
    later = current(pack).waves.get().time_started + services.STALE_DELIVERY
    committed(services.sweep, later + dt.timedelta(seconds=1))
    assert [revs(f) for f in followers] == [[0, 1]] * 3


def test_a_follower_joining_a_paused_rollout_waits_for_it_to_resume(
    fleet, make_member, post, report, committed
):
    pack, followers = fleet
    post(pack.leader, 2)
    report(head(followers[0]), st.ERROR)
    late = make_member("late")
    committed(services.add_follower, pack, late)
    assert Delivery.objects.get(device=late).wave.number == 3  # the last wave, not yet started
    assert revs(late) == [0]
    committed(services.resume, current(pack))
    finish(report, followers[2:6])
    assert revs(late) == [0, 1]


def test_a_leader_revision_whose_rollout_task_was_lost_is_rolled_out_later(
    make_member, make_pack, post, report, committed, monkeypatch, api, owner
):
    leader = make_member("leader")
    follower = make_member()
    pack = make_pack(leader, [follower])
    step = post(leader, 2)
    monkeypatch.setattr(rollouts, "enqueue", lambda *args: None)  # the message is lost
    report(step, st.DONE)
    monkeypatch.undo()
    assert not Rollout.objects.filter(leader_step=step).exists()
    assert services.unrolled(Pack.objects.all()) == [(pack.id, step.id)]

    committed(services.sweep)
    assert Rollout.objects.filter(leader_step=step).exists()
    assert head(follower).state_sha == step.state_sha
    assert services.unrolled(Pack.objects.all()) == []


def test_reading_the_pack_starts_a_rollout_whose_task_was_lost(
    leader, make_member, make_pack, committed, monkeypatch, api, owner
):
    follower = make_member()
    pack = make_pack(leader, [follower])
    monkeypatch.setattr(rollouts, "enqueue", lambda *args: None)
    from revisions import services as revisions
    from revisions.models import Trail

    trail = Trail.objects.select_related("device__owner").get(pk=leader.id)
    step = committed(revisions.post_step, trail, state(5), author=owner)
    monkeypatch.undo()
    assert revs(follower) == [0]
    committed(api.as_(owner).get, f"/packs/{pack.id}")
    assert head(follower).state_sha == step.state_sha
