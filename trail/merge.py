"""Three-way merge of states: what ours and theirs each changed from a common base.

Written once, with no Django, for the hub (a fork following its upstream, a
proposal merged into its target) and for ``trail`` (a pull into a working copy).

* A state merges key by key. A key only one side changed takes that side's
  value (a removal is a change); a key both sides changed the same way takes
  that value.
* A key both sides changed differently is a conflict, unless it holds JSON
  (a ``.json`` key, or ``#spec``: :func:`trail.state.is_object_key` says which)
  and all three sides hold JSON objects there: then the objects merge member
  by member, by the same rules, as deep as they nest. Arrays, and objects
  against anything else, are single values: an array changed on both sides
  is one conflict, not a merge of its items. A key both sides added with
  different values is a conflict too (there is no common base to merge from).
* Values are compared as the state-sha sees them (:func:`trail.canonical.canonical_json`):
  ``1`` and ``1.0`` are the same value, ``1`` and ``true`` are not.

Each conflict names its place with an RFC 6901 JSON Pointer (``~`` written
``~0``, ``/`` written ``~1``, so the key ``bsp/run.json`` is ``/bsp~1run.json``
and its member ``linux`` is ``/bsp~1run.json/linux``) and carries the three
values there. A side where the key or member does not exist holds
:data:`ABSENT`, which :meth:`Conflict.as_json` writes by leaving the field
out: ``null`` is a value a ``.json`` file may hold, so it cannot also mean
"absent".

The merged state holds ours at every conflict, so that a caller may show it
or write the conflict out; a caller that wants only clean merges checks
:attr:`Merge.clean`. Nothing here validates: keys added on both sides may
clash as files (``a`` and ``a/b``), so validate the merged state
(:func:`trail.state.validate_state`) before posting it, as the hub does.
"""

from __future__ import annotations

import copy
import enum
from dataclasses import dataclass
from typing import Any, Final

from trail.canonical import canonical_json
from trail.state import is_object_key

__all__ = ["ABSENT", "Absent", "Conflict", "Merge", "json_pointer", "merge_states"]


class Absent(enum.Enum):
    """The type of :data:`ABSENT`."""

    ABSENT = "absent"

    def __repr__(self) -> str:
        return "ABSENT"


#: "No such key or member on this side": not ``None``, which is JSON's ``null``.
ABSENT: Final = Absent.ABSENT

#: A JSON value, or :data:`ABSENT`.
Side = Any


def json_pointer(parts: tuple[str, ...]) -> str:
    """The RFC 6901 JSON Pointer of a path of member names (``()`` is ``""``, the whole state)."""
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


@dataclass(frozen=True)
class Conflict:
    """A key or member that ours and theirs changed differently from base."""

    #: The member names from the state down: ``("bsp/run.json", "linux")``.
    parts: tuple[str, ...]
    base: Side
    ours: Side
    theirs: Side

    @property
    def path(self) -> str:
        """Where, as an RFC 6901 JSON Pointer into the state."""
        return json_pointer(self.parts)

    def as_json(self) -> dict[str, Any]:
        """``{"path", "base", "ours", "theirs"}``, each side left out where it is absent."""
        found: dict[str, Any] = {"path": self.path}
        for name, value in (("base", self.base), ("ours", self.ours), ("theirs", self.theirs)):
            if value is not ABSENT:
                found[name] = copy.deepcopy(value)
        return found


@dataclass(frozen=True)
class Merge:
    """What :func:`merge_states` gives: the merged state, and the conflicts in path order."""

    #: The merged state; ours at each conflict. It shares nothing with the inputs.
    state: dict[str, Any]
    conflicts: tuple[Conflict, ...]

    @property
    def clean(self) -> bool:
        """Whether the merge had no conflict, so that ``state`` is the answer."""
        return not self.conflicts


def merge_states(base: dict[str, Any], ours: dict[str, Any], theirs: dict[str, Any]) -> Merge:
    """Merge the changes ``ours`` and ``theirs`` each made to ``base`` (see the module's rules).

    ``merge_states(base, base, theirs)`` is ``theirs``, ``merge_states(base, x, x)`` is
    ``x``, and swapping ours and theirs changes only which side each conflict calls
    which (and so the value the merged state holds at a conflict).
    """
    conflicts: list[Conflict] = []
    state = _merge_members((), base, ours, theirs, conflicts)
    return Merge(state=copy.deepcopy(state), conflicts=tuple(conflicts))


def _merge_members(
    parts: tuple[str, ...],
    base: dict[str, Any],
    ours: dict[str, Any],
    theirs: dict[str, Any],
    conflicts: list[Conflict],
) -> dict[str, Any]:
    """Merge three JSON objects member by member; ``parts == ()`` is the state itself."""
    merged: dict[str, Any] = {}
    for name in sorted(base.keys() | ours.keys() | theirs.keys()):
        # In the state, only a key holding JSON merges further; below it, every object does.
        deeper = bool(parts) or not is_object_key(name)
        value = _merge_value(
            (*parts, name),
            base.get(name, ABSENT),
            ours.get(name, ABSENT),
            theirs.get(name, ABSENT),
            conflicts,
            deeper,
        )
        if value is not ABSENT:
            merged[name] = value
    return merged


def _merge_value(
    parts: tuple[str, ...],
    base: Side,
    ours: Side,
    theirs: Side,
    conflicts: list[Conflict],
    deeper: bool,
) -> Side:
    if _same(ours, theirs):  # nobody changed it, or both the same way
        return ours
    if _same(base, ours):  # only theirs changed it
        return theirs
    if _same(base, theirs):  # only ours changed it
        return ours
    if deeper and isinstance(base, dict) and isinstance(ours, dict) and isinstance(theirs, dict):
        return _merge_members(parts, base, ours, theirs, conflicts)
    conflicts.append(Conflict(parts, base, ours, theirs))
    return ours


def _same(a: Side, b: Side) -> bool:
    """Whether two sides hold the same value, as the state-sha sees it."""
    if a is ABSENT or b is ABSENT:
        return a is b
    if isinstance(a, str) and isinstance(b, str):
        return a == b  # the common case: two shas
    return canonical_json(a) == canonical_json(b)
