"""Checking a state against a device's signing rule, for whoever needs the answer.

``post_step`` and ``replace_state`` refuse a state that breaks it (422 ``unsigned``);
a proposal, a page or a pack may ask beforehand with :func:`meets_rule`. Whether the
device requires signatures is ``devices.signing``; what the rule is,
``trail/signatures/rule.py``; whom it trusts, its owner's signing keys. A revision's
``signed`` flag (what explore filters on) and the revision page's badges are
``trail/signatures/summary.py``'s, through :func:`is_signed` and :func:`parts_signed`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devices.models import Device
from devices.signing import required_by
from portal import signing_keys
from portal.errors import DomainError
from trail.signatures.pvs import is_signature
from trail.signatures.rule import Verdict, check_required
from trail.signatures.summary import PartSigning, summarize
from trail.signatures.summary import is_signed as _is_signed

__all__ = ["check_signatures", "is_signed", "meets_rule", "parts_signed"]


def meets_rule(device: Device, state: Mapping[str, Any]) -> Verdict | None:
    """Whether ``state`` would be accepted by ``device``'s signing rule: None when the
    device requires no signatures, else the :class:`~trail.signatures.rule.Verdict`
    (``met``, ``uncovered``, ``failing``, ``reason``) against its owner's trusted signers.
    """
    if device.owner_id is None or not required_by(device):
        return None
    return check_required(state, signing_keys.trust_of(device.owner))


def check_signatures(device: Device, state: Mapping[str, Any]) -> None:
    """A 422 ``unsigned`` naming the uncovered keys and the failing signatures unless
    ``state`` meets ``device``'s signing rule (nothing when it has none)."""
    verdict = meets_rule(device, state)
    if verdict is not None and not verdict.met:
        raise DomainError(
            f"{' and '.join(required_by(device))}: {verdict.reason}",
            code="unsigned",
            status_code=422,
            **verdict.as_json(),
        )


def is_signed(state: Mapping[str, Any]) -> bool:
    """A revision's ``signed`` flag, set when its state is stored: every part signed by
    intact signatures, whoever the signers (their trust is the viewer's question)."""
    return _is_signed(state)


def parts_signed(device: Device, state: Mapping[str, Any]) -> list[PartSigning]:
    """Who signed which part of ``state`` (a platform, or the rest), and whether
    ``device``'s owner trusts them: the revision page's badges."""
    signed_at_all = any(is_signature(key, value) for key, value in state.items())
    # No signature, nothing to trust: spare the query for the owner's signers.
    trust = signing_keys.trust_of(device.owner) if signed_at_all and device.owner_id else None
    return summarize(state, trust)
