"""Who signed which part of a state: one line per platform (and one for the rest).

What the hub's revision page shows as badges and what it stores as a revision's
``signed`` flag, from :func:`~trail.signatures.verify.verify_state`'s report (the
checks are not made again here, only grouped). A part is a top-level directory of the
state (``bsp``, ``app``...), with its ``_config/<part>/`` files; the keys at the top
level form the part ``""``, the rest of the state. ``#spec`` and the signatures
themselves belong to none.

A part is

* ``signed`` when every key of it is covered by an intact signature: one that holds
  (``ok``, ``unchecked``) or whose only fault is that its signer is not trusted
  (``untrusted``); ``trusted`` then says whether every one of them is ``ok`` with the
  trust given (a device owner's signers);
* ``invalid`` when its own signature (``_sigs/<part>.json``) or one covering it is
  ``malformed``: not a signature at all, with the reason;
* ``unsigned`` otherwise, naming the keys no intact signature covers. A signature that
  no longer matches the keys it covers (``changed``, ``bad-signature``: a detached
  signature cannot tell a changed key from an altered signature) covers nothing: a
  part changed since it was signed, in a fork or by tampering, is unsigned until it is
  signed again, and the reason says which signature it broke.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from trail.signatures.pvs import SIGS_DIR
from trail.signatures.verify import Report, SignatureCheck, Trust, verify_state
from trail.state import SPEC_KEY

__all__ = ["PartSigning", "is_signed", "part_of", "summarize"]

PartStatus = Literal["signed", "unsigned", "invalid"]

#: Statuses of a signature that no longer matches what it covers.
_MISMATCH = frozenset({"changed", "bad-signature"})
_CONFIG = "_config/"


@dataclass(frozen=True)
class PartSigning:
    """How one part of a state is signed."""

    #: The platform's name, or "" for the keys at the top level.
    part: str
    status: PartStatus
    #: Who signed it (the signers of the signatures covering it), sorted.
    signers: tuple[str, ...] = ()
    #: The signatures covering it (``_sigs/<name>.json``), sorted.
    signatures: tuple[str, ...] = ()
    #: Signed, and every signature covering it is ``ok`` with the trust given.
    trusted: bool = False
    #: Why it is ``invalid`` or ``unsigned``, for a person.
    reason: str = ""
    #: Keys of the part no intact signature covers.
    uncovered: tuple[str, ...] = ()


def part_of(key: str) -> str | None:
    """The part a state key belongs to: its top-level directory (``_config/<part>/``
    counts as the part's), "" for a key at the top level, None for ``#spec`` and the
    signatures."""
    if key == SPEC_KEY or key.startswith(f"{SIGS_DIR}/"):
        return None
    if key.startswith(_CONFIG):
        rest = key[len(_CONFIG) :]
        return rest.split("/", 1)[0] if "/" in rest else ""
    return key.split("/", 1)[0] if "/" in key else ""


def summarize(
    state: Mapping[str, Any],
    trust: Trust | None = None,
    now: dt.datetime | None = None,
    report: Report | None = None,
) -> list[PartSigning]:
    """Each part of ``state`` (sorted by name, the top level last) and how it is signed;
    ``report`` when :func:`verify_state` already ran with the same trust."""
    report = report or verify_state(state, trust, now)
    keys: dict[str, list[str]] = {}
    for key in sorted(state):
        part = part_of(key)
        if part is not None:
            keys.setdefault(part, []).append(key)
    order = sorted(keys, key=lambda name: (name == "", name))
    return [_part(name, keys[name], report.signatures) for name in order]


def is_signed(state: Mapping[str, Any], now: dt.datetime | None = None) -> bool:
    """Whether every part of ``state`` is signed by intact signatures, whoever the
    signers are (what a revision's stored ``signed`` flag says; trust is the owner's
    and changes, the state does not)."""
    parts = summarize(state, None, now)
    return bool(parts) and all(part.status == "signed" for part in parts)


def _intact(check: SignatureCheck) -> bool:
    """Holds, or holds for the key it names but that key is not trusted (an ``untrusted``
    signature that names no key verified nothing and has no signer)."""
    return check.holds or (check.status == "untrusted" and check.signer is not None)


def _part(name: str, keys: list[str], checks: tuple[SignatureCheck, ...]) -> PartSigning:
    wanted = set(keys)
    covering = [check for check in checks if wanted & set(check.covers)]
    if name:  # a malformed signature covers nothing; it still speaks for its part
        own = f"{SIGS_DIR}/{name}.json"
        covering += [c for c in checks if c.key == own and not c.covers and c not in covering]
    signatures = tuple(sorted(check.key for check in covering))
    malformed = [check for check in covering if check.status == "malformed"]
    if malformed:
        reason = "; ".join(f"{check.key}: {check.reason}" for check in malformed)
        return PartSigning(name, "invalid", signatures=signatures, reason=reason)
    intact = [check for check in covering if _intact(check)]
    covered = {key for check in intact for key in check.covers}
    uncovered = tuple(key for key in keys if key not in covered)
    signers = tuple(sorted({check.signer for check in intact if check.signer}))
    if uncovered:
        named = ", ".join(uncovered[:3])
        if len(uncovered) > 3:
            named += f" and {len(uncovered) - 3} more"
        reasons = [f"not signed: {named}"]
        reasons += [
            f"{check.key} no longer matches: {check.reason}"
            for check in covering
            if check.status in _MISMATCH
        ]
        return PartSigning(
            name,
            "unsigned",
            signers,
            signatures,
            reason="; ".join(reasons),
            uncovered=uncovered,
        )
    trusted = bool(intact) and all(check.status == "ok" for check in intact)
    return PartSigning(name, "signed", signers, signatures, trusted)
