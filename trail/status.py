"""The progress statuses of a revision and who may move it where.

Written once, as data, for the server and ``trail-agent`` alike::

    NEW ─► QUEUED ─► DOWNLOADING ─► INPROGRESS ─► TESTING ─► DONE     (rollback point)
                                         │            └──► UPDATED  (applied without reboot)
                                         └───────────────► UPDATED
      NEW … TESTING ─► WONTGO   (device refused it before install)
      INPROGRESS/TESTING ─► ERROR   (failed after install; device went back)
      NEW ─► CANCEL   (owner)      QUEUED/DOWNLOADING/INPROGRESS ─► WONTGO (owner)

Decisions beyond the diagram, each for a reason:

* A device may skip forward along the main line (``NEW → DOWNLOADING``,
  ``QUEUED → INPROGRESS``, even ``DOWNLOADING → DONE``): Pantavisor
  sometimes skips QUEUED, and a report lost on the network must not make
  every later one fail. DONE and UPDATED sit at the same place on the line,
  so ``INPROGRESS → UPDATED`` is allowed: an update applied without a reboot
  has no try-boot to test.
* Reporting the current status again is always accepted, final ones too:
  progress within DOWNLOADING is the same status with a new percentage, and a
  device retrying a report whose answer it lost must not get an error. It
  never changes a final status.
* The owner's WONTGO (``/wontgo``) works from QUEUED, DOWNLOADING and
  INPROGRESS: the revision has been picked up but not yet installed and
  try-booted. From TESTING the device is already running it; from NEW the
  owner cancels instead.
* Nothing ever goes backwards, and a final status is final.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal

__all__ = [
    "CANCEL",
    "DEVICE_TRANSITIONS",
    "DONE",
    "DOWNLOADING",
    "ERROR",
    "FINAL",
    "INPROGRESS",
    "NEW",
    "OWNER_TRANSITIONS",
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

Actor = Literal["device", "owner"]

#: status -> the statuses a device may report next (including itself).
DEVICE_TRANSITIONS: Final[Mapping[str, frozenset[str]]] = {
    NEW: frozenset({NEW, QUEUED, DOWNLOADING, INPROGRESS, TESTING, DONE, UPDATED, WONTGO}),
    QUEUED: frozenset({QUEUED, DOWNLOADING, INPROGRESS, TESTING, DONE, UPDATED, WONTGO}),
    DOWNLOADING: frozenset({DOWNLOADING, INPROGRESS, TESTING, DONE, UPDATED, WONTGO}),
    INPROGRESS: frozenset({INPROGRESS, TESTING, DONE, UPDATED, WONTGO, ERROR}),
    TESTING: frozenset({TESTING, DONE, UPDATED, WONTGO, ERROR}),
    DONE: frozenset({DONE}),
    UPDATED: frozenset({UPDATED}),
    WONTGO: frozenset({WONTGO}),
    ERROR: frozenset({ERROR}),
    CANCEL: frozenset(),  # set by the owner; a device has nothing to repeat
}

#: status -> the statuses the owner may set next (including itself).
OWNER_TRANSITIONS: Final[Mapping[str, frozenset[str]]] = {
    NEW: frozenset({CANCEL}),
    QUEUED: frozenset({WONTGO}),
    DOWNLOADING: frozenset({WONTGO}),
    INPROGRESS: frozenset({WONTGO}),
    TESTING: frozenset(),
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

    ``code`` is ``unknown-status``, ``final``, ``backwards`` or ``not-allowed``.
    """

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def is_final(status: str) -> bool:
    """Whether ``status`` is final: nothing moves a revision out of it."""
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
    if new in next_statuses(current, actor):
        return
    move = f"cannot go from {current} to {new}"
    if current in FINAL:
        raise TransitionError("final", f"{move}: {current} is final")
    if STATUSES.index(new) < STATUSES.index(current):
        raise TransitionError("backwards", f"{move}: a revision never goes backwards")
    if actor == "device" and new == CANCEL:
        raise TransitionError("not-allowed", f"{move}: only the owner may cancel")
    if actor == "device":  # only ERROR is left
        raise TransitionError(
            "not-allowed",
            f"{move}: ERROR is for a revision that failed after install (from INPROGRESS or TESTING)",
        )
    raise TransitionError(
        "not-allowed",
        f"{move}: the owner may only cancel a NEW revision or mark a QUEUED, DOWNLOADING"
        " or INPROGRESS one WONTGO; the device reports the rest",
    )


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
