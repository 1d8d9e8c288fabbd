"""Whether a device requires signed revisions: the one answer the hub's checks read.

A device requires them when its owner says so (``Device.require_signatures``) or when
a higher app requires it of the device: packs registers a rule in ``PacksConfig.ready``
(a pack that requires signatures requires them of its leader and its followers).
Devices import no higher app, so those rules plug in here, as callers do in
``devices/auth.py``. What "signed" means is ``trail/signatures/rule.py``; who is
trusted, the device owner's signing keys (``portal.signing_keys``); the check itself,
``revisions.services.signing``.
"""

from __future__ import annotations

from collections.abc import Callable

from devices.models import Device

__all__ = ["register_rule", "required_by", "requires_signatures"]

#: A rule of a higher app: why it requires ``device``'s revisions to be signed
#: (a phrase such as ``"pack lobby requires signatures"``), or None.
Rule = Callable[[Device], "str | None"]

_rules: list[Rule] = []

#: The reason when the device's own setting requires signatures.
OWN = "this device requires signatures"


def register_rule(rule: Rule) -> None:
    """Add a higher app's rule (once, from its ``AppConfig.ready``)."""
    if rule not in _rules:
        _rules.append(rule)


def required_by(device: Device) -> list[str]:
    """Why ``device`` requires signatures, one phrase per rule that does; empty when none."""
    reasons = [OWN] if device.require_signatures else []
    for rule in _rules:
        reason = rule(device)
        if reason:
            reasons.append(reason)
    return reasons


def requires_signatures(device: Device) -> bool:
    """Whether the hub refuses ``device`` a revision that is not signed (and trail-agent
    checks it again before install)."""
    return bool(required_by(device))
