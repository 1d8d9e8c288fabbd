"""Throttles for the login and sign-up endpoints."""

import hashlib

from rest_framework.throttling import SimpleRateThrottle


class FailedLoginThrottle(SimpleRateThrottle):
    """Counts failed logins per client address and username; successes cost nothing.

    The view calls :meth:`record_failure` after a wrong password, so a user who
    types the right one is never slowed down by this throttle.
    """

    scope = "login"

    def get_cache_key(self, request, view):
        data = request.data if isinstance(request.data, dict) else {}
        # Hashed: a username may hold anything, and a cache key must not.
        # surrogatepass: a lone surrogate is refused by the parser, but must not 500 here.
        name = str(data.get("username", "")).encode("utf-8", "surrogatepass")
        username = hashlib.sha256(name).hexdigest()
        return self.cache_format % {
            "scope": self.scope,
            "ident": f"{self.get_ident(request)}:{username}",
        }

    def allow_request(self, request, view):
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


class SignupThrottle(SimpleRateThrottle):
    scope = "signup"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
