"""The progress statuses of a revision and who may move it where.

Written once, as data, for the server and ``trail-agent`` alike. The usual
path, as DESIGN.md draws it::

    NEW ─► QUEUED ─► DOWNLOADING ─► INPROGRESS ─► TESTING ─► DONE     (rollback point)
                                                        └──► UPDATED  (applied without reboot)
    WONTGO   refused before install (bad state, no space, too many retries)
    ERROR    failed (bad checksum while downloading, failed try-boot, failed commit)
    NEW ─► CANCEL (owner)          QUEUED … TESTING ─► WONTGO (owner, /wontgo)

Real devices do not walk that path strictly, and the hub records what they
say rather than what the drawing expects (the reference hub stores any
status a device sends, pantahub-base trails/put-trails-rev-progress.go).
The moves a device really makes, each accepted:

* QUEUED again from any pending status: Pantavisor reports QUEUED every time
  it (re)starts an update, also when it resumes one that was DOWNLOADING or
  INPROGRESS before a reboot (pantavisor update/update.c ~247), and again
  while it records the objects' metadata (update/update_progress.c,
  ``pv_update_progress_start_record``).
* TESTING ─► INPROGRESS: the mocker's reboot ("Simulating reboot",
  pantavisor-mocker src/flows/update_flow.zig ~351); Pantavisor reports
  INPROGRESS again when it boots into the revision on trial.
* ERROR from QUEUED or DOWNLOADING: a bad checksum or an internal error
  before install (update/update.c ~152-162, 346, 418; update_flow.zig ~314).
* DONE ─► ERROR: the bootloader could not commit the revision it just
  reported DONE (update/update.c ~888-892). UPDATED ─► ERROR is taken too:
  UPDATED stands where DONE does.
* WONTGO from any pending status (space, signature, retries: update.c
  ~255-330), and skipping ahead (NEW ─► DOWNLOADING, QUEUED ─► DONE): a
  report lost on the network must not make every later one fail.

So from a pending status (NEW … TESTING) a device may report any status a
device reports (:data:`DEVICE_REPORTS`: QUEUED … ERROR). Repeating the
current status is always accepted: progress within DOWNLOADING is the same
status with a new percentage, and Pantavisor re-sends its final progress
from disk when the poll offers it the step again (update.c ~233-237). A
repeated final status changes nothing.

What stays refused, and why:

* A device never reports NEW (except repeating it) nor CANCEL. NEW is the
  hub's word for "no device picked it up yet", on which the owner's cancel
  relies; CANCEL is the owner's word. A device that will not install a
  revision says WONTGO, one that failed says ERROR. Neither refusal can
  strand a step: a device that sends them still has its own last word
  (QUEUED … ERROR) to report, and those are all accepted.
* Nothing leaves a final status for a pending one, for any actor. This is
  what keeps the poll (the oldest pending step) from ever being stuck: every
  final report a device makes from a pending status is accepted, the owner
  can end any pending step (CANCEL from NEW, WONTGO from the others), and a
  finished step never becomes pending again to block newer revisions.
* Out of DONE/UPDATED a device may only report ERROR (above). Out of ERROR,
  nothing: the device has given the revision up and rolled back.
* Out of the owner's CANCEL or WONTGO, a device may report how the revision
  ended (DONE, UPDATED or ERROR), but nothing pending. The owner's word was
  about a revision the device had already taken (a report raced the cancel,
  or the device was busy when the owner gave up on it); if it installed it
  anyway, the hub must know what the device runs. Its pending reports are
  refused, so that the owner's WONTGO can stop a device that keeps reporting
  INPROGRESS, which is what /wontgo is for. The device's own WONTGO is final
  the same way.
* The owner only ever sets CANCEL (on NEW, before any device report) and
  WONTGO (on a pending status a device reported). Owners never set a device
  status: progress is what the device says.

A refused report is a 409 with a ``code``; Pantavisor only logs it and goes
on (pantahub/pantahub_proto.c ``_recv_put_progress_cb``), so the table must
never refuse the report that ends a step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

__all__ = [
    "CANCEL",
    "DEVICE_REPORTS",
    "DEVICE_TRANSITIONS",
    "DONE",
    "DOWNLOADING",
    "ERROR",
    "FAILED",
    "FINAL",
    "INPROGRESS",
    "NEW",
    "OWNER_TRANSITIONS",
    "PENDING",
    "QUEUED",
    "RUNNING_OK",
    "STATUSES",
    "TESTING",
    "UPDATED",
    "WONTGO",
    "Actor",
    "TransitionError",
    "check_transition",
    "is_final",
    "next_statuses",
]

NEW: Final = "NEW"
QUEUED: Final = "QUEUED"
DOWNLOADING: Final = "DOWNLOADING"
INPROGRESS: Final = "INPROGRESS"
TESTING: Final = "TESTING"
DONE: Final = "DONE"
UPDATED: Final = "UPDATED"
WONTGO: Final = "WONTGO"
ERROR: Final = "ERROR"
CANCEL: Final = "CANCEL"

#: Every status, in the order a revision goes through them.
STATUSES: Final = (
    NEW,
    QUEUED,
    DOWNLOADING,
    INPROGRESS,
    TESTING,
    DONE,
    UPDATED,
    WONTGO,
    ERROR,
    CANCEL,
)
FINAL: Final = frozenset({DONE, UPDATED, WONTGO, ERROR, CANCEL})
#: A revision in one of these is one the device runs; its newest such is the running revision.
RUNNING_OK: Final = frozenset({DONE, UPDATED})
#: The device did not get to run it: it failed (ERROR) or would not install it (WONTGO).
#: A rollout counts these as failures; a page shows them as such, never as progress.
FAILED: Final = frozenset({ERROR, WONTGO})

Actor = Literal["device", "owner"]

#: The statuses a device reports (NEW is the hub's, CANCEL the owner's).
DEVICE_REPORTS: Final = frozenset(
    {QUEUED, DOWNLOADING, INPROGRESS, TESTING, DONE, UPDATED, WONTGO, ERROR}
)
#: Not final: the device has still to finish it; the poll offers the oldest.
PENDING: Final = frozenset(STATUSES) - FINAL
#: How a revision the device took ended, even after the owner gave up on it.
_OUTCOMES: Final = frozenset({DONE, UPDATED, ERROR})

#: status -> the statuses a device may report next (including itself).
DEVICE_TRANSITIONS: Final[Mapping[str, frozenset[str]]] = {
    NEW: DEVICE_REPORTS | {NEW},
    QUEUED: DEVICE_REPORTS,
    DOWNLOADING: DEVICE_REPORTS,
    INPROGRESS: DEVICE_REPORTS,
    TESTING: DEVICE_REPORTS,
    DONE: frozenset({DONE, ERROR}),  # the bootloader commit failed
    UPDATED: frozenset({UPDATED, ERROR}),
    WONTGO: _OUTCOMES | {WONTGO},  # after the owner's WONTGO, the device installed it anyway
    ERROR: frozenset({ERROR}),
    CANCEL: _OUTCOMES,  # a report raced the owner's cancel, and the device installed it
}

#: status -> the statuses the owner may set next (including itself).
OWNER_TRANSITIONS: Final[Mapping[str, frozenset[str]]] = {
    NEW: frozenset({CANCEL}),
    QUEUED: frozenset({WONTGO}),
    DOWNLOADING: frozenset({WONTGO}),
    INPROGRESS: frozenset({WONTGO}),
    TESTING: frozenset({WONTGO}),  # a device silent in its try-boot must not block the trail
    DONE: frozenset(),
    UPDATED: frozenset(),
    WONTGO: frozenset({WONTGO}),
    ERROR: frozenset(),
    CANCEL: frozenset({CANCEL}),
}

_TABLES: Final[Mapping[str, Mapping[str, frozenset[str]]]] = {
    "device": DEVICE_TRANSITIONS,
    "owner": OWNER_TRANSITIONS,
}


class TransitionError(ValueError):
    """A status change that is not allowed, or a status name that does not exist.

    ``code`` is ``unknown-status``, ``final`` (nothing leaves that status for this
    one) or ``not-allowed`` (the actor may not set this status here).
    """

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def is_final(status: str) -> bool:
    """Whether ``status`` is final: the device has finished (or the owner ended) the
    revision; the poll no longer offers it and it never becomes pending again."""
    _check_known(status)
    return status in FINAL


def next_statuses(current: str, actor: Actor) -> frozenset[str]:
    """The statuses ``actor`` may set on a revision in ``current``."""
    _check_known(current)
    return _table(actor)[current]


def check_transition(current: str, new: str, actor: Actor) -> None:
    """Raise :class:`TransitionError` unless ``actor`` may move ``current`` to ``new``.

    The message says why: ``cannot go from DONE to INPROGRESS: DONE is final``.
    """
    _check_known(new)
    allowed = next_statuses(current, actor)
    if new in allowed:
        return
    move = f"cannot go from {current} to {new}"
    if actor == "owner" and current in FINAL:
        raise TransitionError("final", f"{move}: {current} is final")
    if actor == "owner":
        raise TransitionError(
            "not-allowed",
            f"{move}: the owner may only cancel a NEW revision or mark one the device is"
            " working on (QUEUED, DOWNLOADING, INPROGRESS or TESTING) WONTGO;"
            " the device reports the rest",
        )
    if new == CANCEL:
        raise TransitionError(
            "not-allowed",
            f"{move}: only the owner cancels; a device that will not install a revision"
            " reports WONTGO, one that failed reports ERROR",
        )
    if new == NEW:
        raise TransitionError(
            "not-allowed",
            f"{move}: NEW is a revision no device has picked up yet; a device that"
            " (re)starts an update reports QUEUED",
        )
    after = sorted(allowed - {current}, key=STATUSES.index)
    then = f" (after it a device may only report {' or '.join(after)})" if after else ""
    raise TransitionError("final", f"{move}: {current} is final{then}")


def _check_known(status: str) -> None:
    if status not in DEVICE_TRANSITIONS:
        raise TransitionError(
            "unknown-status", f"unknown status {status!r}; expected one of {', '.join(STATUSES)}"
        )


def _table(actor: str) -> Mapping[str, frozenset[str]]:
    try:
        return _TABLES[actor]
    except KeyError:
        raise ValueError(f'unknown actor {actor!r}; expected "device" or "owner"') from None
