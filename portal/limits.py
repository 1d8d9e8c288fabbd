"""Limits on logins, sign-ups, password resets and anonymous device registrations.

One implementation for the pages and the API: the login form and
``POST /auth/login`` count their failures through :class:`LoginLimits`, the
sign-up form and ``POST /auth/accounts`` share one per-address counter, and so
on. The counters are DRF's rate throttles (their sliding window in the cache);
only the keys are chosen here.

The client address is the connection's (``REMOTE_ADDR``) unless
``TRUSTED_PROXIES`` proxies stand in front of the workers; then it is the
address the outermost of them saw, from ``X-Forwarded-For`` (DRF's
``NUM_PROXIES``). Without that setting anyone could send a new
``X-Forwarded-For`` with every try and never be counted.
"""

from __future__ import annotations

import hashlib
import math

from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from portal.errors import DomainError
from trail.wire import DEVICE_PRN_PREFIX


def client_address(request) -> str:
    """The caller's address, trusting ``X-Forwarded-For`` only as far as ``TRUSTED_PROXIES``.

    Works on a Django request as on a DRF one (only the headers are read).
    """
    return BaseThrottle().get_ident(request) or ""


def wait_text(seconds: float) -> str:
    """``"in 42 seconds"``, ``"in 3 minutes"``: when to try again, for a person."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 120:
        return f"in {seconds} second{'s' if seconds != 1 else ''}"
    return f"in {math.ceil(seconds / 60)} minutes"


def _digest(value: str) -> str:
    # A name may hold anything, and a cache key must not; surrogatepass: a lone
    # surrogate is refused by the parsers, but must not make a 500 here.
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


class RateLimit(SimpleRateThrottle):
    """DRF's rate throttle over the requests of one scope from one client address.

    Usable as a view's ``throttle_classes`` entry, or from a page through
    :meth:`take`. The rate is read at each use, so that settings may change.
    """

    def __init__(self, scope: str | None = None, ident: str | None = None) -> None:
        if scope is not None:
            self.scope = scope
        self.ident = ident
        super().__init__()

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view) -> str | None:
        ident = self.ident if self.ident is not None else client_address(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def wait(self) -> float:
        """Seconds until the window has room again, once the limit is reached.

        (DRF's own spreads the window over the requests left, which says
        nothing useful to someone told to wait.)
        """
        if len(self.history) < self.num_requests:
            return 0.0
        return max(1.0, self.history[self.num_requests - 1] + self.duration - self.now)

    @classmethod
    def take(cls, request, scope: str) -> float | None:
        """Count one request of ``scope`` from this caller; None, or the seconds
        to wait when the limit is reached (the request is then not counted)."""
        throttle = cls(scope)
        return None if throttle.allow_request(request, None) else throttle.wait()


class FailureLimit(RateLimit):
    """Counts failures only: a try is checked, and counted once it has failed."""

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return len(self.history) < self.num_requests

    def record_failure(self) -> None:
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)


class LoginLimits:
    """The failed-login counters that one login (form or API) is checked against.

    * per client address and account (``LOGIN_THROTTLE_RATE``): one address
      guessing one account's password;
    * per account, from any address (``LOGIN_ACCOUNT_THROTTLE_RATE``): guesses
      spread over many addresses;
    * per client address, any account (``LOGIN_ADDRESS_THROTTLE_RATE``): one
      password tried across many accounts. People only: device logins (a
      device prn as the username) are not counted here, so that one device
      with a wrong secret never locks out a fleet behind the same NAT address;
      a device's secret is machine-made and random, so guessing it across
      devices is hopeless anyway.

    A success costs nothing. Once a counter is full the right password is
    refused too, until its window has room (otherwise the limit would tell a
    guesser when they hit it).
    """

    def __init__(self, request, username: str) -> None:
        address, account = client_address(request), _digest(username)
        self.request = request
        self.counters = [
            FailureLimit("login", f"{address}:{account}"),
            FailureLimit("login-account", account),
        ]
        if not username.startswith(DEVICE_PRN_PREFIX):
            self.counters.append(FailureLimit("login-address", address))

    def wait(self) -> float | None:
        """None when the login may be tried, else the seconds until it may."""
        waits = [
            counter.wait()
            for counter in self.counters
            if not counter.allow_request(self.request, None)
        ]
        return max(waits) if waits else None

    def check(self) -> None:
        """Refuse (a DomainError) while a counter is full: for the pages that take a
        second factor or a password after the login form."""
        wait = self.wait()
        if wait is not None:
            raise DomainError(f"Too many failed logins; try again {wait_text(wait)}.", "throttled")

    def record_failure(self) -> None:
        for counter in self.counters:
            if counter.rate is not None:
                counter.record_failure()
