"""A limit on anonymous device registrations, per client address."""

from rest_framework.throttling import SimpleRateThrottle

AUTO_TOKEN_HEADER = "Pantahub-Devices-Auto-Token-V1"


class AnonymousRegistrationThrottle(SimpleRateThrottle):
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
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
