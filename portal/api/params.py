"""Query parameters every list in the API reads the same way."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter

from portal.errors import DomainError

LIMIT = OpenApiParameter("limit", int, description="at most this many (default 100, at most 1000)")
MAX_LIMIT = 1000


def limit_param(request, default: int = 100) -> int:
    raw = request.query_params.get("limit", "")
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise DomainError(f"limit must be a number from 1 to {MAX_LIMIT}", code="bad-limit")
    return int(raw)


def int_param(request, name: str) -> int | None:
    raw = request.query_params.get(name, "")
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise DomainError(f"{name} must be a whole number", code=f"bad-{name}") from None
