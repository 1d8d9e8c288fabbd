"""Device tags: the owner's labels, in one spelling (what a dynamic pack selects by).

A tag is trimmed and lower-cased, then must be 1-64 characters of
``[a-z0-9._:-]``; duplicates fold into one, the first place kept; a device has
at most :data:`MAX_TAGS`. ``Lobby`` and ``lobby `` are the same tag.
"""

from __future__ import annotations

import re

from portal.errors import DomainError

MAX_TAGS = 32
TAG_MAX_LENGTH = 64
TAG_PATTERN = re.compile(r"[a-z0-9._:-]{1,64}")


def clean_tag(value, what: str = "a tag") -> str:
    """``value`` as a tag, or a 400 ``bad-tag`` that names it."""
    if not isinstance(value, str):
        raise DomainError(f"{what} must be a string, not {value!r}", "bad-tag", 400)
    tag = value.strip().lower()
    if not TAG_PATTERN.fullmatch(tag):
        raise DomainError(
            f"{what} {value[:80]!r} is not a tag: 1 to {TAG_MAX_LENGTH} letters, digits"
            " and . _ : -",
            "bad-tag",
            400,
        )
    return tag


def clean_tags(value) -> list[str]:
    """A list of tags, normalised and without duplicates, or a 400 that says what is wrong."""
    if not isinstance(value, list):
        raise DomainError("tags must be a JSON list of strings", "not-a-list", 400)
    tags = list(dict.fromkeys(clean_tag(item) for item in value))
    if len(tags) > MAX_TAGS:
        raise DomainError(
            f"{len(tags)} tags; a device has at most {MAX_TAGS}", "too-many-tags", 400
        )
    return tags
