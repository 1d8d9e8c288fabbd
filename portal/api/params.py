"""Query parameters every list in the API reads the same way."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter

from portal.errors import DomainError

LIMIT = OpenApiParameter("limit", int, description="at most this many (default 100, at most 1000)")
MAX_LIMIT = 1000


def _counting_number(raw: str, name: str, maximum: int) -> int:
    # ASCII digits only ("²" is a digit to str.isdigit, not to int), and few of them
    # (int() refuses thousands of digits).
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9 and 1 <= int(raw) <= maximum):
        raise DomainError(f"{name} must be a number from 1 to {maximum}", code=f"bad-{name}")
    return int(raw)


def limit_param(request, default: int = 100, maximum: int = MAX_LIMIT) -> int:
    raw = request.query_params.get("limit", "")
    return _counting_number(raw, "limit", maximum) if raw else default


#: The deepest page a numbered list serves: far past any real list, and an offset the
#: database can take.
MAX_PAGE = 100_000
PAGE = OpenApiParameter(
    "page", int, description="which page, from 1 (default 1); past the end, none"
)


def page_param(request) -> int:
    """``?page=``, a page number from 1 (lists paged by number: the community's)."""
    raw = request.query_params.get("page", "")
    return _counting_number(raw, "page", MAX_PAGE) if raw else 1


def int_param(request, name: str) -> int | None:
    raw = request.query_params.get(name, "")
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise DomainError(f"{name} must be a whole number", code=f"bad-{name}") from None
