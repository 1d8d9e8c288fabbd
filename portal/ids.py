"""Identifiers in the reference's form: 24 lowercase hex characters.

Like a MongoDB ObjectId, the first 8 characters are the creation time, so ids
sort roughly by age; the rest is random.
"""

import re
import secrets
import time

from django.db import models

ID_RE = re.compile(r"^[0-9a-f]{24}$")


def new_id() -> str:
    return f"{int(time.time()) & 0xFFFFFFFF:08x}{secrets.token_hex(8)}"


def is_id(value: str) -> bool:
    return bool(ID_RE.match(value or ""))


class HexIdField(models.CharField):
    """A 24-hex primary key generated on creation."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 24)
        kwargs.setdefault("default", new_id)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        for key, value in (("max_length", 24), ("default", new_id), ("editable", False)):
            if kwargs.get(key) == value:
                kwargs.pop(key)
        return name, path, args, kwargs
