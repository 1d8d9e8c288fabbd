"""What /api/docs/ shows beside each operation: examples, and the values they share.

Each view says in its own ``extend_schema`` what an operation does (``summary``,
``description``) and shows it (``examples``); these helpers only build the
examples, so that every app spells a request, an answer and a refusal alike and
the same sample account and device appear everywhere. ``trailhub/tests/test_openapi.py``
checks that no operation goes without.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse

from trail import wire

#: Sample ids (24 lowercase hex, as every id) and the prns that name them.
ACCOUNT_ID = "5f3c0a9e4b1d2c7e8f6a0b13"
DEVICE_ID = "5f3c1e9a8b7d6c5e4f3a2b1c"
ACCOUNT_PRN = wire.account_prn(ACCOUNT_ID)
DEVICE_PRN = wire.device_prn(DEVICE_ID)
#: A sample bearer token (``POST /auth/login``); the claims are alice's.
TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6InBybjo6OmFjY291bnRzOi81ZjNjMGE5ZTRiMWQy"
    "YzdlOGY2YTBiMTMiLCJuaWNrIjoiYWxpY2UiLCJ0eXBlIjoiVVNFUiJ9.Yk3xQ0m1kGZ8cQ9b5yXr0s4T6uVwX"
)
#: What an anonymous caller gets, as the descriptions of most operations say it.
ANONYMOUS_401 = (
    "A caller without a token is refused with a 401 (not a 403 or 404) whose"
    ' `WWW-Authenticate` names the login endpoint (`ph-aeps="https://<host>/auth"`):'
    " pvr sends a token only after such a 401."
)


def request_example(value: Any, name: str = "Request") -> OpenApiExample:
    """A request body; for a list (``many=True``) give one item, the schema lists it."""
    return OpenApiExample(name, value=value, request_only=True)


def answer_example(value: Any, name: str = "Answer", status: int = 200) -> OpenApiExample:
    """A response body; for a list (``many=True``) give one item, the schema lists it."""
    return OpenApiExample(name, value=value, response_only=True, status_codes=[str(status)])


def error_response(
    description: str, status: int, code: str, error: str, **extra: Any
) -> dict[int, OpenApiResponse]:
    """A documented refusal, ``{status: response}``, with its JSON body (docs/api.md
    "Errors") as the example: for an operation with no JSON success body to show."""
    example = OpenApiExample(
        f"{status} {code}",
        value={"error": error, "code": code, **extra},
        response_only=True,
        status_codes=[str(status)],
    )
    return {status: OpenApiResponse(OpenApiTypes.OBJECT, description, examples=[example])}


def throttled(what: str) -> dict[int, OpenApiResponse]:
    """The 429 of an operation with a rate limit (``Retry-After`` says when to try again)."""
    return error_response(
        f"Too many {what} from this address or for this account; try again after Retry-After.",
        429,
        "throttled",
        f"too many {what}; try again in 5 minutes",
    )
