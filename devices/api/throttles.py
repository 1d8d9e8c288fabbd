"""A limit on anonymous device registrations, per client address."""

from portal.limits import RateLimit
from trail.wire import AUTO_TOKEN_HEADER


class AnonymousRegistrationThrottle(RateLimit):
    """Counts ``POST /devices/`` without a person or a factory token, per client address.

    Anyone may register a device anonymously (it then waits to be claimed), so
    a script could fill the database with unclaimed devices. Registrations by a
    person or with a factory token are not counted: a factory or a fleet behind
    one NAT registers with a token. ``DEVICE_REGISTER_THROTTLE_RATE`` sets the rate.
    """

    scope = "device-register"

    def get_cache_key(self, request, view):
        anonymous = not request.user.is_authenticated
        if request.method != "POST" or not anonymous or request.headers.get(AUTO_TOKEN_HEADER):
            return None  # not counted
        return super().get_cache_key(request, view)  # the client address (portal/limits.py)
