"""The progress status machine: every move, for the device and for the owner.

Each move a real device makes cites the upstream line it reproduces."""

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
    UPDATED,
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


# What real devices send (see trail/status.py for the upstream lines): from a pending
# status any device status, back to QUEUED or INPROGRESS too; after DONE/UPDATED an
# ERROR; after the owner's CANCEL/WONTGO the outcome; repeating the current status.
DEVICE_MOVES = parse_moves("""
    NEW         -> NEW QUEUED DOWNLOADING INPROGRESS TESTING DONE UPDATED WONTGO ERROR
    QUEUED      -> QUEUED DOWNLOADING INPROGRESS TESTING DONE UPDATED WONTGO ERROR
    DOWNLOADING -> QUEUED DOWNLOADING INPROGRESS TESTING DONE UPDATED WONTGO ERROR
    INPROGRESS  -> QUEUED DOWNLOADING INPROGRESS TESTING DONE UPDATED WONTGO ERROR
    TESTING     -> QUEUED DOWNLOADING INPROGRESS TESTING DONE UPDATED WONTGO ERROR
    DONE        -> DONE ERROR
    UPDATED     -> UPDATED ERROR
    WONTGO      -> WONTGO DONE UPDATED ERROR
    ERROR       -> ERROR
    CANCEL      -> DONE UPDATED ERROR
""")
OWNER_MOVES = parse_moves("""
    NEW         -> CANCEL
    QUEUED      -> WONTGO
    DOWNLOADING -> WONTGO
    INPROGRESS  -> WONTGO
    TESTING     -> WONTGO
    WONTGO      -> WONTGO
    CANCEL      -> CANCEL
""")
PENDING = [status for status in STATUSES if status not in FINAL]
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
def test_it_never_makes_a_final_status_pending_again(current, actor):
    """A finished step never comes back to block the poll (the oldest pending step)."""
    for new in PENDING:
        with pytest.raises(TransitionError):
            check_transition(current, new, actor)


@pytest.mark.parametrize("current", PENDING)
@pytest.mark.parametrize("new", sorted(FINAL - {CANCEL}))
def test_it_accepts_every_final_report_from_a_pending_status(current, new):
    """Pantavisor re-sends its final progress from disk whenever the poll offers the step
    again (pantavisor update/update.c:233-237) and only logs a refused PUT
    (pantahub/pantahub_proto.c:938-941): a refused final report would leave the step
    pending and the device polling it forever."""
    check_transition(current, new, "device")


@pytest.mark.parametrize("current", PENDING)
def test_the_owner_can_end_every_pending_status(current):
    """CANCEL before the device picked it up, WONTGO after: nothing stays pending forever."""
    assert next_statuses(current, "owner") & FINAL


def test_it_explains_finality():
    with pytest.raises(TransitionError) as caught:
        check_transition(DONE, INPROGRESS, "device")
    assert caught.value.code == "final"
    assert str(caught.value) == (
        "cannot go from DONE to INPROGRESS: DONE is final (after it a device may only report ERROR)"
    )
    with pytest.raises(TransitionError, match="^cannot go from ERROR to DONE: ERROR is final$"):
        check_transition(ERROR, DONE, "device")


@pytest.mark.parametrize("current", [DOWNLOADING, INPROGRESS, TESTING])
def test_it_takes_queued_again_when_pantavisor_resumes(current):
    """Pantavisor reports QUEUED on every start_install, a resumed update included
    (pantavisor update/update.c:245-247)."""
    check_transition(current, QUEUED, "device")


def test_it_takes_inprogress_after_testing_for_the_reboot():
    """The mocker's "Simulating reboot..." (pantavisor-mocker src/flows/update_flow.zig:349-351)."""
    check_transition(TESTING, INPROGRESS, "device")


@pytest.mark.parametrize("current", [QUEUED, DOWNLOADING])
def test_it_takes_an_error_before_install(current):
    """A bad checksum (pantavisor-mocker src/flows/update_flow.zig:312-315) or an internal
    error (pantavisor update/update.c:344-348 from QUEUED, 416-420 from DOWNLOADING)."""
    check_transition(current, ERROR, "device")


def test_it_takes_an_error_after_done_when_the_commit_fails():
    """DONE, then the bootloader cannot commit it (pantavisor update/update.c:888-893)."""
    check_transition(DONE, ERROR, "device")


@pytest.mark.parametrize("current", PENDING)
def test_it_takes_wontgo_from_any_pending_status(current):
    """Retries, signature, space (pantavisor update/update.c:259, 270, 278)."""
    check_transition(current, WONTGO, "device")


@pytest.mark.parametrize("current", [CANCEL, WONTGO])
@pytest.mark.parametrize("new", [DONE, UPDATED, ERROR])
def test_it_keeps_how_a_revision_ended_after_the_owner_gave_up_on_it(current, new):
    check_transition(current, new, "device")


@pytest.mark.parametrize("current", [CANCEL, WONTGO])
@pytest.mark.parametrize("new", [QUEUED, DOWNLOADING, INPROGRESS, TESTING])
def test_it_lets_the_owner_stop_a_device_that_keeps_reporting(current, new):
    with pytest.raises(TransitionError) as caught:
        check_transition(current, new, "device")
    assert caught.value.code == "final"


@pytest.mark.parametrize("current", [QUEUED, DOWNLOADING, TESTING, DONE])
def test_a_device_never_reports_new(current):
    with pytest.raises(TransitionError, match="NEW is a revision no device has picked up") as e:
        check_transition(current, NEW, "device")
    assert e.value.code == "not-allowed"


def test_it_lets_only_the_owner_cancel():
    for current in PENDING:
        with pytest.raises(TransitionError, match="only the owner cancels") as caught:
            check_transition(current, CANCEL, "device")
        assert caught.value.code == "not-allowed"
    check_transition(NEW, CANCEL, "owner")


@pytest.mark.parametrize(
    ("current", "new"),
    [(QUEUED, CANCEL), (NEW, WONTGO), (INPROGRESS, DONE), (NEW, DOWNLOADING), (TESTING, ERROR)],
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


def _built(name: str) -> str:
    """``name`` as a string made at run time, as one read from JSON or a config is:
    not the interned literal, so an ``is`` where ``==`` belongs fails."""
    return "".join(list(name))


def test_it_exports_the_pending_statuses():
    # kills: status.py:138 "-" -> "|" and "-" -> "&"
    import trail.status

    assert frozenset(PENDING) == trail.status.PENDING


def test_it_tells_the_owner_a_finished_revision_is_final():
    # kills: status.py:211 "==" -> ">" and "==" -> "is" (code not-allowed instead of final)
    for actor in ["owner", _built("owner")]:
        with pytest.raises(
            TransitionError, match="^cannot go from DONE to CANCEL: DONE is final$"
        ) as caught:
            check_transition(DONE, CANCEL, actor)  # type: ignore[arg-type]
        assert caught.value.code == "final"


def test_it_explains_the_owner_moves_to_an_owner_read_from_json():
    # kills: status.py:213 "==" -> "is" (the device's "only the owner cancels" message)
    with pytest.raises(TransitionError, match="the owner may only cancel a NEW revision"):
        check_transition(QUEUED, CANCEL, _built("owner"))  # type: ignore[arg-type]


def test_it_refuses_cancel_and_new_from_a_device_whatever_the_string():
    # kills: status.py:220 "==" -> "is" and status.py:226 "==" -> "is" (code final)
    with pytest.raises(TransitionError, match="only the owner cancels") as caught:
        check_transition(QUEUED, _built(CANCEL), "device")
    assert caught.value.code == "not-allowed"
    with pytest.raises(TransitionError, match="NEW is a revision no device") as caught:
        check_transition(QUEUED, _built(NEW), "device")
    assert caught.value.code == "not-allowed"


def test_it_lists_only_the_moves_left_after_a_cancel():
    # kills: status.py:232 "-" -> "^" (CANCEL itself listed as a next report)
    with pytest.raises(TransitionError) as caught:
        check_transition(CANCEL, QUEUED, "device")
    assert str(caught.value) == (
        "cannot go from CANCEL to QUEUED: CANCEL is final"
        " (after it a device may only report DONE or UPDATED or ERROR)"
    )
