"""Signed states, compatible with pvr's ``pvs@2`` signatures (``pvr sig``).

* :mod:`trail.signatures.pvs`: the format, what is signed, and signing;
* :mod:`trail.signatures.verify`: :func:`verify_state`, used by the hub, ``trail
  sig ls`` and ``trail-agent``;
* :mod:`trail.signatures.keys`: PEM files, development keys, certificate chains;
* :mod:`trail.signatures.glob`: the include / exclude globs as pvr matches them.

docs/signing.md describes the format and the checks;
:mod:`trail.signatures.summary` groups a report by part (the hub's badges).
"""

from trail.signatures.keys import KeyFileError
from trail.signatures.pvs import SIGS_DIR, SPEC, Match, PvsError, part_match, sign, state_match
from trail.signatures.verify import Report, SignatureCheck, Trust, verify_state

__all__ = [
    "SIGS_DIR",
    "SPEC",
    "KeyFileError",
    "Match",
    "PvsError",
    "Report",
    "SignatureCheck",
    "Trust",
    "part_match",
    "sign",
    "state_match",
    "verify_state",
]
