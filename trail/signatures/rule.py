"""The rule of a device that requires signatures, written once for the hub (a post that
breaks it is refused) and ``trail-agent`` (a revision that breaks it is not installed).

Every key of the state but ``#spec`` and the signatures themselves must be covered
by a signature that verifies with a trusted key or CA certificate (status ``ok``),
and no signature may fail. With nothing trusted, no key is covered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from trail.signatures.keys import load_certificates, load_public_keys
from trail.signatures.verify import SignatureCheck, Trust, verify_state
from trail.state import SPEC_KEY

__all__ = ["Verdict", "check_required", "trust_from_pems"]

#: How many uncovered keys a reason names before it counts the rest.
_NAMED = 5


@dataclass(frozen=True)
class Verdict:
    """Whether a state meets the rule, and if not, what breaks it."""

    #: Keys no trusted, holding signature covers, sorted.
    uncovered: tuple[str, ...]
    #: Signatures that do not hold or are not trusted.
    failing: tuple[SignatureCheck, ...]
    #: Whether anything was trusted at all.
    trusted_any: bool = True

    @property
    def met(self) -> bool:
        return not self.uncovered and not self.failing

    @property
    def reason(self) -> str:
        """Why the state breaks the rule, for a person ("" when it meets it)."""
        parts = []
        if not self.trusted_any:
            parts.append("no signing keys or CA certificates are trusted")
        for check in self.failing:
            parts.append(f"{check.key} is {check.status}: {check.reason}")
        if self.uncovered:
            named = ", ".join(self.uncovered[:_NAMED])
            more = len(self.uncovered) - _NAMED
            extra = f" and {more} more" if more > 0 else ""
            parts.append(f"not signed by a trusted signer: {named}{extra}")
        return "; ".join(parts)

    def as_json(self) -> dict[str, Any]:
        """The members of the hub's 422 ``unsigned`` answer (docs/api.md)."""
        return {
            "uncovered": list(self.uncovered),
            "failing": [
                {"signature": c.key, "status": c.status, "reason": c.reason} for c in self.failing
            ],
        }


def check_required(
    state: Mapping[str, Any], trust: Trust, now: dt.datetime | None = None
) -> Verdict:
    """Check ``state`` against the rule of a device that requires signatures."""
    report = verify_state(state, trust, now)
    trusted = {key for check in report.signatures if check.status == "ok" for key in check.covers}
    exempt = {SPEC_KEY} | {check.key for check in report.signatures}
    uncovered = tuple(key for key in sorted(state) if key not in exempt and key not in trusted)
    return Verdict(uncovered, report.failing, bool(trust))


def trust_from_pems(pems: Iterable[str]) -> Trust:
    """The trust of PEM texts as the hub keeps and hands them out, one ``PUBLIC KEY`` or
    ``CERTIFICATE`` (a CA) each; a :class:`~trail.signatures.KeyFileError` for any other."""
    keys = []
    certs = []
    for pem in pems:
        if "-----BEGIN CERTIFICATE-----" in pem:
            certs += load_certificates(pem.encode())
        else:
            keys += load_public_keys(pem.encode())
    return Trust(tuple(keys), tuple(certs))
