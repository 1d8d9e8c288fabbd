"""The API's side of portal/limits.py: throttle classes and the 429 they answer."""

from rest_framework import exceptions

from portal.limits import RateLimit, wait_text


class SignupThrottle(RateLimit):
    """``POST /auth/accounts``, per client address; the sign-up page shares the count."""

    scope = "signup"


class TooManyTries(exceptions.Throttled):
    """A 429 (``throttled``, with ``Retry-After``) that says when to try again."""

    def __init__(self, what: str, wait: float) -> None:
        super().__init__(wait=wait)
        self.detail = exceptions.ErrorDetail(
            f"too many {what}; try again {wait_text(wait)}", code="throttled"
        )
