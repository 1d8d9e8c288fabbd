"""The rollout and wave state machines and the wave plan (pure data, no database)."""

import pytest

from packs import rollout as ro
from trail import status as st


@pytest.mark.parametrize(
    ("count", "share", "size", "plan"),
    [
        (0, 0.1, 10, []),
        (50, 0.1, 15, [("canary", 5), ("batch", 15), ("batch", 15), ("batch", 15)]),
        (50, 0.0, 0, [("batch", 50)]),
        (50, 0.0, 20, [("batch", 20), ("batch", 20), ("batch", 10)]),
        (3, 0.1, 0, [("canary", 1), ("batch", 2)]),  # a share of a few is at least one device
        (4, 1.0, 2, [("canary", 4)]),
        (7, 0.5, 0, [("canary", 4), ("batch", 3)]),
    ],
)
def test_it_plans_a_canary_then_batches(count, share, size, plan):
    assert ro.plan_waves(count, share, size) == plan
    assert sum(n for _, n in plan) == count


def test_it_fails_a_wave_as_soon_as_failures_are_over_the_threshold():
    # 2 of 5 failed, 3 still installing: 40% can only grow, so there is no need to wait.
    assert ro.judge(ro.Tally(ok=0, failed=2, waiting=3), 0.2, timed_out=False) == "fail"


def test_it_does_not_fail_a_wave_exactly_at_the_threshold():
    assert ro.judge(ro.Tally(ok=4, failed=1), 0.2, timed_out=False) == "pass"
    assert ro.judge(ro.Tally(ok=0, failed=5), 1.0, timed_out=False) == "pass"


def test_it_waits_for_every_device_or_the_deadline():
    waiting = ro.Tally(ok=3, waiting=2)
    assert ro.judge(waiting, 0.2, timed_out=False) is None
    assert ro.judge(waiting, 0.2, timed_out=True) == "pass"
    assert ro.judge(ro.Tally(), 0.0, timed_out=False) == "pass"  # an empty wave


def test_it_counts_errors_and_refusals_as_failures_and_cancels_as_neither():
    assert ro.outcome(ro.D_POSTED, st.ERROR) == ro.FAILURE
    assert ro.outcome(ro.D_POSTED, st.WONTGO) == ro.FAILURE
    assert ro.outcome(ro.D_CURRENT, st.DONE) == ro.OK
    assert ro.outcome(ro.D_POSTED, st.UPDATED) == ro.OK
    assert ro.outcome(ro.D_POSTED, st.CANCEL) == ro.NEUTRAL
    assert ro.outcome(ro.D_POSTED, st.DOWNLOADING) == ro.WAITING
    assert ro.outcome(ro.D_PENDING, None) == ro.WAITING
    assert ro.outcome(ro.D_FAILED, None) == ro.FAILURE  # could not even be posted
    assert ro.outcome(ro.D_CANCELLED, None) == ro.NEUTRAL


def test_every_status_has_an_outcome():
    assert set(ro.OUTCOME_OF_STATUS) == set(st.STATUSES)


def test_it_allows_only_the_moves_in_its_tables():
    assert ro.move_rollout(ro.RUNNING, "wave-failed") == ro.PAUSED
    assert ro.move_rollout(ro.PAUSED, "resume") == ro.RUNNING
    assert ro.move_rollout(ro.COMPLETED, "revert") == ro.REVERTED
    with pytest.raises(
        ro.MoveError, match="cannot resume a rollout that is running: only a paused"
    ):
        ro.move_rollout(ro.RUNNING, "resume")
    with pytest.raises(ro.MoveError, match="cannot abort a rollout that is completed"):
        ro.move_rollout(ro.COMPLETED, "abort")
    with pytest.raises(ro.MoveError, match="superseded"):
        ro.move_rollout(ro.SUPERSEDED, "revert")
    assert ro.move_wave(ro.PENDING, "start") == ro.WAVE_RUNNING
    with pytest.raises(ro.MoveError):
        ro.move_wave(ro.SKIPPED, "revert")


def test_finished_rollouts_move_only_by_revert():
    for status in (ro.COMPLETED, ro.ABORTED, ro.REVERTED, ro.SUPERSEDED):
        assert set(ro.ROLLOUT_MOVES[status]) <= {"revert"}
    assert set(ro.ROLLOUT_MOVES) == set(ro.ROLLOUT_STATUSES)
    assert set(ro.WAVE_MOVES) == set(ro.WAVE_STATUSES)
