"""user-meta and device-meta: checked, then replaced or merged."""

from __future__ import annotations

import json
from typing import Literal

from django.conf import settings
from django.db import transaction

from devices.models import (
    Device,
)
from devices.signals import changed_after_commit
from portal import audit
from portal.errors import DomainError
from portal.parsers import unstorable

MetaField = Literal["user_meta", "device_meta"]


def _require_object(value, what: str) -> dict:
    if not isinstance(value, dict):
        raise DomainError(f"{what} must be a JSON object", "not-an-object", 400)
    return value


def check_meta(value, what: str) -> dict:
    """``value`` if it is a JSON object within DEVICE_META_MAX_BYTES; else a 400/413."""
    _require_object(value, what)
    found = unstorable(value)  # the API's parser refuses these already; the forms parse JSON too
    if found is not None:
        code, message = found
        raise DomainError(f"{what}: {message}", code, 400)
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    limit = settings.DEVICE_META_MAX_BYTES
    if size > limit:
        raise DomainError(
            f"{what} would be {size} bytes serialized; the limit is {limit}", "too-large", 413
        )
    return value


def write_meta(device: Device, field: MetaField, value, *, merge: bool) -> dict:
    """Replace (PUT) or merge into (PATCH) a device's metadata; returns the result.

    A merge is shallow, as in the reference: each top-level key in ``value``
    replaces the stored one, and a key set to null is removed. The row is
    locked so that two concurrent merges cannot lose each other's keys.
    """
    what = field.replace("_", "-")
    _require_object(value, what)
    with transaction.atomic():
        locked = Device.objects.select_for_update().get(id=device.id)
        if merge:
            result = dict(getattr(locked, field))
            for key, item in value.items():
                if item is None:
                    result.pop(key, None)
                else:
                    result[key] = item
        else:
            result = value
        check_meta(result, what)
        previous = getattr(locked, field)
        facts = locked.rule_facts()
        setattr(locked, field, result)
        locked.save(update_fields=[field, "time_modified"])
        if field == "user_meta":  # the device's own device-meta is not recorded
            before, after = audit.changed(previous, {**dict.fromkeys(previous), **result})
            audit.record(
                "device.meta", owner=locked.owner, target=locked, before=before, after=after
            )
        if field == "device_meta" and locked.rule_facts() != facts:
            changed_after_commit(locked, {"facts"})
    setattr(device, field, result)
    device.time_modified = locked.time_modified
    return result
