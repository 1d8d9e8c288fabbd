"""The rollout and wave state machines, written once, as data.

No Django here: :mod:`packs.services` applies these tables under the
rollout's row lock, and the pages and the API read the names from here.

A rollout posts one leader revision to a pack's followers, wave after wave::

    running ──wave-failed──► paused ──resume──► running
       │ └──done──► completed                      │
       ├──abort──► aborted      (running or paused) ┘
       ├──supersede──► superseded   (a newer leader revision started a rollout)
       └──revert──► reverted        (also from paused, completed, aborted, reverted)

A wave is a batch of followers (the first may be the canary)::

    pending ──start──► running ──pass──► passed
       └──skip──► skipped  │ ├──fail──► failed
                           │ └──stop──► stopped   (the rollout ended meanwhile)
                           passed / failed / stopped / running ──revert──► reverted

Each follower's part of a rollout is a *delivery* whose outcome comes from
the posted revision's progress status (:data:`OUTCOME_OF_STATUS`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from trail import status as st

# --- Rollouts ------------------------------------------------------------------

RUNNING: Final = "running"
PAUSED: Final = "paused"
COMPLETED: Final = "completed"
ABORTED: Final = "aborted"
REVERTED: Final = "reverted"
SUPERSEDED: Final = "superseded"

ROLLOUT_STATUSES: Final = (RUNNING, PAUSED, COMPLETED, ABORTED, REVERTED, SUPERSEDED)
#: A rollout in one of these may still post its leader revision.
ACTIVE: Final = frozenset({RUNNING, PAUSED})

#: status -> event -> new status.
ROLLOUT_MOVES: Final[Mapping[str, Mapping[str, str]]] = {
    RUNNING: {
        "wave-passed": RUNNING,
        "done": COMPLETED,
        "wave-failed": PAUSED,
        "abort": ABORTED,
        "supersede": SUPERSEDED,
        "revert": REVERTED,
    },
    PAUSED: {
        "resume": RUNNING,
        "abort": ABORTED,
        "supersede": SUPERSEDED,
        "revert": REVERTED,
    },
    COMPLETED: {"revert": REVERTED},
    ABORTED: {"revert": REVERTED},
    REVERTED: {"revert": REVERTED},
    SUPERSEDED: {},
}

#: What the owner is told when an action does not fit the rollout's status.
_HINTS: Final[Mapping[str, str]] = {
    "resume": "only a paused rollout can be resumed",
    "abort": "only a running or paused rollout can be aborted",
    "revert": "a superseded rollout cannot be reverted: a newer leader revision went out since",
}

# --- Waves ---------------------------------------------------------------------

PENDING: Final = "pending"
WAVE_RUNNING: Final = "running"
PASSED: Final = "passed"
FAILED: Final = "failed"
STOPPED: Final = "stopped"
SKIPPED: Final = "skipped"
WAVE_REVERTED: Final = "reverted"

WAVE_STATUSES: Final = (PENDING, WAVE_RUNNING, PASSED, FAILED, STOPPED, SKIPPED, WAVE_REVERTED)
#: Waves whose deliveries have been (or are being) posted.
STARTED: Final = frozenset({WAVE_RUNNING, PASSED, FAILED, STOPPED, WAVE_REVERTED})

WAVE_MOVES: Final[Mapping[str, Mapping[str, str]]] = {
    PENDING: {"start": WAVE_RUNNING, "skip": SKIPPED},
    WAVE_RUNNING: {"pass": PASSED, "fail": FAILED, "stop": STOPPED, "revert": WAVE_REVERTED},
    PASSED: {"revert": WAVE_REVERTED},
    FAILED: {"revert": WAVE_REVERTED},
    STOPPED: {"revert": WAVE_REVERTED},
    SKIPPED: {},
    WAVE_REVERTED: {},
}

CANARY: Final = "canary"
BATCH: Final = "batch"

# --- Deliveries ----------------------------------------------------------------

RELEASE: Final = "release"
REVERT: Final = "revert"

D_PENDING: Final = "pending"  # to be posted
D_POSTED: Final = "posted"  # a new revision was posted to the follower
D_CURRENT: Final = "current"  # the follower already had this state: its revision is followed
D_FAILED: Final = "failed"  # could not be posted (the error says why)
D_CANCELLED: Final = "cancelled"  # not posted: the rollout stopped, or the device left

DELIVERY_STATUSES: Final = (D_PENDING, D_POSTED, D_CURRENT, D_FAILED, D_CANCELLED)

#: A delivery's outcome, once its revision is posted, follows the revision's status.
OK: Final = "ok"
FAILURE: Final = "failed"
NEUTRAL: Final = "cancelled"
WAITING: Final = "waiting"
OUTCOMES: Final = (OK, FAILURE, NEUTRAL, WAITING)

OUTCOME_OF_STATUS: Final[Mapping[str, str]] = {
    **{status: WAITING for status in st.STATUSES},
    **{status: OK for status in st.RUNNING_OK},
    **{status: FAILURE for status in st.FAILED},
    st.CANCEL: NEUTRAL,
}


def outcome(delivery_status: str, step_status: str | None) -> str:
    """The outcome of one delivery: ok, failed, cancelled or waiting.

    A delivery that could not be posted counts as a failure (the device did
    not get the revision); one that was cancelled counts as neither.
    """
    if delivery_status == D_FAILED:
        return FAILURE
    if delivery_status == D_CANCELLED:
        return NEUTRAL
    if delivery_status == D_PENDING:
        return WAITING
    if step_status is None:  # the posted revision is gone (its device was deleted)
        return NEUTRAL
    return OUTCOME_OF_STATUS[step_status]


class MoveError(ValueError):
    """An event that the current status does not allow; the message says why."""

    def __init__(self, message: str, status: str) -> None:
        super().__init__(message)
        self.status = status


def move_rollout(status: str, event: str) -> str:
    """The rollout status after ``event``, or :class:`MoveError`."""
    try:
        return ROLLOUT_MOVES[status][event]
    except KeyError:
        hint = _HINTS.get(event, "")
        raise MoveError(
            f"cannot {event} a rollout that is {status}" + (f": {hint}" if hint else ""), status
        ) from None


def move_wave(status: str, event: str) -> str:
    """The wave status after ``event``, or :class:`MoveError`."""
    try:
        return WAVE_MOVES[status][event]
    except KeyError:
        raise MoveError(f"cannot {event} a wave that is {status}", status) from None


# --- Planning and judging waves -------------------------------------------------


def plan_waves(count: int, canary_share: float, wave_size: int) -> list[tuple[str, int]]:
    """Split ``count`` followers into waves: ``[(kind, size), ...]``.

    The canary is ``ceil(count * canary_share)`` followers (none when the
    share is 0); the rest go in batches of ``wave_size`` (0: all at once).
    With no followers there are no waves.
    """
    if count <= 0:
        return []
    waves: list[tuple[str, int]] = []
    canary = min(count, math.ceil(count * canary_share)) if canary_share > 0 else 0
    if canary:
        waves.append((CANARY, canary))
    rest = count - canary
    step = wave_size if wave_size > 0 else rest
    while rest > 0:
        size = min(step, rest)
        waves.append((BATCH, size))
        rest -= size
    return waves


@dataclass(frozen=True)
class Tally:
    """How a wave's deliveries stand."""

    ok: int = 0
    failed: int = 0
    cancelled: int = 0
    waiting: int = 0

    @property
    def size(self) -> int:
        return self.ok + self.failed + self.cancelled + self.waiting

    @property
    def failure_share(self) -> float:
        return self.failed / self.size if self.size else 0.0

    def as_dict(self) -> dict[str, int]:
        return {OK: self.ok, FAILURE: self.failed, NEUTRAL: self.cancelled, WAITING: self.waiting}


def judge(tally: Tally, threshold: float, timed_out: bool) -> str | None:
    """The wave event the tally calls for: ``"fail"``, ``"pass"`` or None (keep waiting).

    A wave fails as soon as its failure share is over the threshold, even
    before every device has finished: more failures can only raise it. It
    passes when nothing is left waiting, or at its deadline.
    """
    if tally.failure_share > threshold:
        return "fail"
    if tally.waiting == 0 or timed_out:
        return "pass"
    return None


# --- What a rollout came to ------------------------------------------------------


class WaveFacts(Protocol):
    """What :func:`summarize` reads of a wave (a ``Wave`` row with its ``tally``)."""

    number: int
    kind: str
    status: str
    tally: Tally


@dataclass(frozen=True)
class Summary:
    """A rollout's outcome in one line, and the badge tone that goes with it."""

    text: str
    tone: str  # ok, warn, bad or muted (the badge classes of the pages)


def summarize(
    status: str, waves: Sequence[WaveFacts], late: Tally = Tally(), threshold: float = 0.0
) -> Summary:
    """What a rollout came to, from its status and its waves' tallies as they are now.

    The one place that words a rollout's outcome: the pack page, the API's
    ``status-msg`` and the idle card all read it. It is judged from the
    tallies, not from the message stored at the last move, so a wave that
    failed and was resumed, or a follower whose revision failed after the
    rollout completed, is never told as "every wave passed".
    """
    total = add_tallies([late, *(wave.tally for wave in waves)])
    counts = _counts(total)
    failed_waves = [wave.number for wave in waves if wave.status == FAILED]
    resumed = (
        f"; wave {_numbers(failed_waves)} failed and the owner resumed"
        if failed_waves and status != PAUSED
        else ""
    )
    if status == PAUSED:
        wave = next((w for w in reversed(waves) if w.status == FAILED), None)
        if wave is None:
            return Summary(f"paused · {counts}; resume, abort or revert", "bad")
        t = wave.tally
        return Summary(
            f"paused · wave {wave.number} ({wave.kind}): {t.failed} of {t.size} devices failed"
            f" ({t.failure_share:.0%}), over the threshold of {threshold:.0%};"
            " resume, abort or revert",
            "bad",
        )
    if status == RUNNING:
        wave = next((w for w in waves if w.status == WAVE_RUNNING), None)
        where = f"wave {wave.number} of {len(waves)} ({wave.kind}) · " if wave else ""
        return Summary(f"running · {where}{counts}{resumed}", "bad" if resumed else "warn")
    if status == COMPLETED:
        if not total.size:
            return Summary("completed · no followers then; later ones catch up", "muted")
        if total.failed or failed_waves:
            return Summary(
                f"completed with {_devices(total.failed)} failed · {counts}{resumed}", "bad"
            )
        if total.waiting:
            return Summary(f"completed · every wave passed; {counts}", "warn")
        return Summary(f"completed · every wave passed · {counts}", "ok")
    tone = "bad" if total.failed else "muted"
    if status == REVERTED:
        reverted = [wave.number for wave in waves if wave.status == WAVE_REVERTED]
        what = (
            f"wave {_numbers(reverted)} went back to the previous revision · " if reverted else ""
        )
        return Summary(f"reverted · {what}{counts}{resumed}", tone)
    if status == SUPERSEDED:
        return Summary(f"superseded by a newer leader revision · {counts}{resumed}", tone)
    return Summary(f"{status} · {counts}{resumed}", tone)  # aborted


def add_tallies(parts: Sequence[Tally]) -> Tally:
    """The tally of several waves (or a whole rollout)."""
    return Tally(
        sum(t.ok for t in parts),
        sum(t.failed for t in parts),
        sum(t.cancelled for t in parts),
        sum(t.waiting for t in parts),
    )


def _devices(count: int) -> str:
    return f"{count} device{'' if count == 1 else 's'}"


def _numbers(numbers: Sequence[int]) -> str:
    return ", ".join(str(n) for n in numbers)


def _counts(tally: Tally) -> str:
    parts = [f"{tally.ok} of {_devices(tally.size)} ok", f"{tally.failed} failed"]
    if tally.waiting:
        parts.append(f"{tally.waiting} waiting")
    if tally.cancelled:
        parts.append(f"{tally.cancelled} cancelled")
    return ", ".join(parts)
