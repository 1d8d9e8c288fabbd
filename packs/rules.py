"""A dynamic pack's rule: which of its owner's devices follow it (docs/packs.md).

A rule is a small JSON object; every condition it names must hold::

    {"tags": {"all": ["kiosk"], "any": ["lobby", "cafe"], "none": ["lab"]},
     "board": ["Raspberry Pi 4 Model B"], "arch": ["aarch64"], "pantavisor": ">=019"}

* ``tags``: ``all`` of these tags, at least one of ``any``, none of ``none``
  (tags as devices/tags.py spells them);
* ``board``, ``arch``: the device-meta's ``pantavisor.dtmodel`` /
  ``pantavisor.arch`` is one of these (an ``arch`` also matches the
  architecture before its first ``/``: ``aarch64`` matches ``aarch64/64/EL``);
* ``pantavisor``: the device-meta's ``pantavisor.version`` compared as numbers
  (``>=019``, ``>``, ``<=``, ``<``, ``=``; no operator: ``=``); a device that
  reports no version never matches.

A rule names at least one condition. Pure: no Django.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping

from devices.tags import clean_tag
from portal.errors import DomainError

TAG_KEYS = ("all", "any", "none")
FACT_KEYS = ("board", "arch")
MAX_VALUES = 32
VALUE_MAX_LENGTH = 80
_VERSION = re.compile(r"(>=|<=|>|<|=)?\s*([0-9][0-9A-Za-z._-]{0,31})")
_OPERATORS = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "=": operator.eq,
}


def _bad(message: str) -> DomainError:
    return DomainError(f"rule: {message}", "bad-rule", 400)


def _strings(value, what: str, clean=None) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > MAX_VALUES:
        raise _bad(f"{what} must be a list of 1 to {MAX_VALUES} strings")
    found = []
    for item in value:
        if clean is not None:
            try:
                found.append(clean(item, f"{what} holds"))
            except DomainError as exc:
                raise _bad(exc.message) from None
            continue
        if not isinstance(item, str) or not item.strip() or len(item) > VALUE_MAX_LENGTH:
            raise _bad(f"{what} holds {item!r}: a text of 1 to {VALUE_MAX_LENGTH} characters")
        found.append(item.strip())
    return list(dict.fromkeys(found))


def version_key(text: str) -> tuple[int, ...]:
    """``"019"`` -> ``(19,)``, ``"020-rc2"`` -> ``(20, 2)``: versions compare as numbers."""
    return tuple(int(part) for part in re.findall(r"\d+", text))


def clean_rule(value) -> dict | None:
    """``value`` as a stored rule (None: the pack is not dynamic), or a 400 ``bad-rule``."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _bad("must be a JSON object (or null for a pack whose followers you pick)")
    unknown = sorted(set(value) - {"tags", *FACT_KEYS, "pantavisor"})
    if unknown:
        raise _bad(f"unknown condition {', '.join(unknown)}; known: tags, board, arch, pantavisor")
    if not value:
        raise _bad("name at least one condition: an empty rule would take every device")
    rule: dict = {}
    if "tags" in value:
        tags = value["tags"]
        if not isinstance(tags, Mapping) or not tags or set(tags) - set(TAG_KEYS):
            raise _bad('tags must be an object of "all", "any" and "none" lists')
        rule["tags"] = {
            key: _strings(tags[key], f"tags.{key}", clean_tag) for key in TAG_KEYS if key in tags
        }
    for key in FACT_KEYS:
        if key in value:
            rule[key] = _strings(value[key], key)
    if "pantavisor" in value:
        version = value["pantavisor"]
        found = _VERSION.fullmatch(version.strip()) if isinstance(version, str) else None
        if found is None:
            raise _bad('pantavisor must be a version with an optional operator, e.g. ">=019"')
        rule["pantavisor"] = f"{found.group(1) or '='}{found.group(2)}"
    return rule


def matches(rule: Mapping, tags: list[str], facts: Mapping[str, str]) -> bool:
    """Whether a device with ``tags`` and ``facts`` (Device.rule_facts) meets ``rule``."""
    held = set(tags)
    wanted = rule.get("tags", {})
    if not held.issuperset(wanted.get("all", ())):
        return False
    if "any" in wanted and not held.intersection(wanted["any"]):
        return False
    if held.intersection(wanted.get("none", ())):
        return False
    if "board" in rule and facts.get("board") not in rule["board"]:
        return False
    if "arch" in rule:
        arch = facts.get("arch", "")
        if arch not in rule["arch"] and arch.split("/", 1)[0] not in rule["arch"]:
            return False
    if "pantavisor" in rule:
        version = facts.get("pantavisor")
        found = _VERSION.fullmatch(rule["pantavisor"])
        if not version or found is None:
            return False
        compare = _OPERATORS[found.group(1) or "="]
        if not compare(version_key(version), version_key(found.group(2))):
            return False
    return True
