"""The progress status machine: every move, for the device and for the owner."""

from __future__ import annotations

import itertools

import pytest

from trail.status import (
    CANCEL,
    DONE,
    DOWNLOADING,
    ERROR,
    FINAL,
    INPROGRESS,
    NEW,
    QUEUED,
    RUNNING_OK,
    STATUSES,
    TESTING,
    WONTGO,
    TransitionError,
    check_transition,
    is_final,
    next_statuses,
)


def parse_moves(table: str) -> set[tuple[str, str]]:
    """``"A -> B C"`` lines into {(A, B), (A, C)}."""
    moves = set()
    for line in table.strip().splitlines():
        current, targets = line.split("->")
        moves.update((current.strip(), new) for new in targets.split())
    return moves


# The protocol as DESIGN.md draws it, plus skipping forward and repeating.
DEVICE_MOVES = parse_moves("""
    NEW         -> NEW QUEUED DOWNLOADING INPROGRESS TESTING DONE UPDATED WONTGO
    QUEUED      -> QUEUED DOWNLOADING INPROGRESS TESTING DONE UPDATED WONTGO
    DOWNLOADING -> DOWNLOADING INPROGRESS TESTING DONE UPDATED WONTGO
    INPROGRESS  -> INPROGRESS TESTING DONE UPDATED WONTGO ERROR
    TESTING     -> TESTING DONE UPDATED WONTGO ERROR
    DONE        -> DONE
    UPDATED     -> UPDATED
    WONTGO      -> WONTGO
    ERROR       -> ERROR
""")
OWNER_MOVES = parse_moves("""
    NEW         -> CANCEL
    QUEUED      -> WONTGO
    DOWNLOADING -> WONTGO
    INPROGRESS  -> WONTGO
    WONTGO      -> WONTGO
    CANCEL      -> CANCEL
""")
ALL_PAIRS = list(itertools.product(STATUSES, STATUSES))


@pytest.mark.parametrize(("current", "new"), sorted(DEVICE_MOVES))
def test_it_lets_the_device_make_every_legal_move(current, new):
    check_transition(current, new, "device")


@pytest.mark.parametrize(("current", "new"), sorted(OWNER_MOVES))
def test_it_lets_the_owner_make_every_legal_move(current, new):
    check_transition(current, new, "owner")


@pytest.mark.parametrize("actor", ["device", "owner"])
def test_it_refuses_every_other_move(actor):
    legal = DEVICE_MOVES if actor == "device" else OWNER_MOVES
    refused = set()
    for current, new in ALL_PAIRS:
        try:
            check_transition(current, new, actor)
        except TransitionError:
            refused.add((current, new))
    assert refused == set(ALL_PAIRS) - legal


@pytest.mark.parametrize("actor", ["device", "owner"])
def test_it_lists_the_next_statuses_from_the_same_table(actor):
    legal = DEVICE_MOVES if actor == "device" else OWNER_MOVES
    for current in STATUSES:
        assert next_statuses(current, actor) == {new for cur, new in legal if cur == current}


def test_it_knows_which_statuses_are_final():
    # The names are the wire's: literal strings, not the constants, on purpose.
    assert sorted(FINAL) == ["CANCEL", "DONE", "ERROR", "UPDATED", "WONTGO"]
    assert [status for status in STATUSES if is_final(status)] == sorted(FINAL, key=STATUSES.index)
    assert [status for status in STATUSES if not is_final(status)] == [
        "NEW",
        "QUEUED",
        "DOWNLOADING",
        "INPROGRESS",
        "TESTING",
    ]
    assert sorted(RUNNING_OK) == ["DONE", "UPDATED"]


@pytest.mark.parametrize("current", sorted(FINAL))
@pytest.mark.parametrize("actor", ["device", "owner"])
def test_it_never_leaves_a_final_status(current, actor):
    for new in STATUSES:
        if new != current:
            with pytest.raises(TransitionError) as caught:
                check_transition(current, new, actor)
            assert caught.value.code == "final"


def test_it_explains_finality():
    with pytest.raises(TransitionError) as caught:
        check_transition(DONE, INPROGRESS, "device")
    assert str(caught.value) == "cannot go from DONE to INPROGRESS: DONE is final"


@pytest.mark.parametrize(
    ("current", "new"), [(TESTING, DOWNLOADING), (DOWNLOADING, QUEUED), (INPROGRESS, NEW)]
)
def test_it_never_goes_backwards(current, new):
    with pytest.raises(
        TransitionError, match=f"cannot go from {current} to {new}: .*never goes backwards"
    ) as caught:
        check_transition(current, new, "device")
    assert caught.value.code == "backwards"


@pytest.mark.parametrize("current", [NEW, QUEUED, DOWNLOADING])
def test_it_keeps_error_for_failures_after_install(current):
    with pytest.raises(
        TransitionError, match="ERROR is for a revision that failed after install"
    ) as caught:
        check_transition(current, ERROR, "device")
    assert caught.value.code == "not-allowed"


def test_it_lets_only_the_owner_cancel():
    with pytest.raises(TransitionError, match="only the owner may cancel"):
        check_transition(NEW, CANCEL, "device")
    check_transition(NEW, CANCEL, "owner")


@pytest.mark.parametrize(
    ("current", "new"),
    [(QUEUED, CANCEL), (TESTING, WONTGO), (NEW, WONTGO), (INPROGRESS, DONE), (NEW, DOWNLOADING)],
)
def test_it_keeps_the_owner_to_cancel_and_wontgo(current, new):
    with pytest.raises(TransitionError, match="the owner may only cancel a NEW revision") as caught:
        check_transition(current, new, "owner")
    assert caught.value.code == "not-allowed"


@pytest.mark.parametrize(
    ("current", "new"),
    [("FOO", NEW), (NEW, "BAR"), ("done", DONE), (NEW, "")],
)
def test_it_refuses_unknown_statuses(current, new):
    with pytest.raises(TransitionError, match="unknown status") as caught:
        check_transition(current, new, "device")
    assert caught.value.code == "unknown-status"


def test_it_refuses_an_unknown_status_when_asked_for_finality():
    with pytest.raises(TransitionError, match="unknown status 'FINISHED'"):
        is_final("FINISHED")


def test_it_refuses_an_unknown_actor():
    with pytest.raises(ValueError, match="unknown actor 'admin'"):
        check_transition(NEW, CANCEL, "admin")  # type: ignore[arg-type]
