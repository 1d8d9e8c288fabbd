"""Two-factor login for the web, through django-otp.

A person adds an authenticator app (a TOTP device, RFC 6238): the secret is
shown as a QR code and as text, and the device counts only once a code from
the app has confirmed it. Ten recovery codes (a static device) come with it,
each good once. From then on the web login asks, after the password, for a
code from the app or a recovery code (portal.views.LoginView, login_verify),
and the session remembers the device that verified it (django-otp's
``request.user.is_verified()``), which the admin asks for when
``ADMIN_REQUIRE_2FA`` is set (portal/admin_site.py).

API logins (``POST /auth/login``: pvr, devices, scripts) are not asked: the
second factor guards the web session; scripts use scoped tokens (portal/tokens.py).
"""

from __future__ import annotations

import base64
import io
import re
import time
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.db import transaction
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.qr import write_qrcode_image

from portal import audit
from portal.errors import DomainError
from portal.limits import wait_text

RECOVERY_CODES = 10
#: How long the second step of a login may wait for its code after the password.
PENDING_SECONDS = 300
#: The code of the login form's refusal of a right password that leads to the second step.
SECOND_STEP = "second-factor"

AUTHENTICATOR_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"
_PENDING_KEY = "portal.login.pending"
_TOTP_CODE = re.compile(r"^[0-9]{6}$")


def _confirmed_devices(user, model):
    return model.objects.devices_for_user(user, confirmed=True)


def is_enabled(user) -> bool:
    """Whether the account logs in with a second factor (a confirmed authenticator)."""
    return user.is_authenticated and _confirmed_devices(user, TOTPDevice).exists()


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


# --- Setting it up ----------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolment:
    """What the set-up page shows of a new, unconfirmed authenticator."""

    secret: str  # base32, as authenticator apps take it typed in
    uri: str  # otpauth://totp/…, what the QR code holds
    qr_svg: str  # a data: URL of the QR code (the CSP allows data: images)


def start_setup(user) -> TOTPDevice:
    """The person's unconfirmed authenticator, made now if they have none."""
    if is_enabled(user):
        raise DomainError("Two-factor login is on already.", "2fa-on")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)


def enrolment(device: TOTPDevice) -> Enrolment:
    secret = base64.b32encode(device.bin_key).decode()
    out = io.BytesIO()
    write_qrcode_image(device.config_url, out)
    qr = "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()
    return Enrolment(
        secret=" ".join(re.findall(".{1,4}", secret)), uri=device.config_url, qr_svg=qr
    )


def confirm_setup(request, code: str) -> list[str]:
    """Confirm the person's new authenticator with a code from it; answer their recovery
    codes. This session counts as verified by it from now on."""
    user = request.user
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
        if device is None or is_enabled(user):
            raise DomainError("Start the set-up again.", "2fa-no-setup")
        # Not throttled: whoever sees the set-up page sees the secret.
        device.throttle_reset(commit=False)
        if not device.verify_token(_normalise(code)):
            raise DomainError(
                "That code is not the app's current one: check the app shows Trailhub for "
                "your nick, and that your phone's clock is right.",
                "2fa-wrong-code",
            )
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = new_recovery_codes(user)
        audit.record("two-factor.on", owner=user, after={"two-factor": True})
    otp_login(request, device)
    return codes


def new_recovery_codes(user) -> list[str]:
    """Ten new recovery codes for ``user``; those made before stop working."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def turn_off(user) -> None:
    """Remove the account's authenticators and recovery codes: the password alone logs in."""
    if user.require_2fa:
        raise DomainError(
            "Your account requires two-factor login: untick “Require two-factor login” on "
            "your account page first.",
            "2fa-required",
        )
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        audit.record("two-factor.off", owner=user, after={"two-factor": False})


# --- Checking a code ---------------------------------------------------------------------


def _normalise(code: str) -> str:
    return re.sub(r"[\s-]", "", code).lower()


def verify(user, code: str) -> Device:
    """The device that accepts ``code`` (a code from the app, or a recovery code, which it
    spends), or a DomainError. Each code goes to the one device it can be for, so a wrong
    one slows down (django-otp's throttling) only that device."""
    code = _normalise(code)
    model = TOTPDevice if _TOTP_CODE.match(code) else StaticDevice
    with transaction.atomic():
        for device in _confirmed_devices(user, model).select_for_update():
            allowed, why = device.verify_is_allowed()
            if not allowed and "locked_until" in (why or {}):
                seconds = (why["locked_until"] - timezone.now()).total_seconds()
                raise DomainError(
                    f"Too many wrong codes; try again {wait_text(seconds)}.", "2fa-throttled"
                )
            if device.verify_token(code):
                return device
    raise DomainError("That code is not right (or was used already).", "2fa-wrong-code")


def is_recovery(device: Device) -> bool:
    """Whether ``device`` is the recovery codes (so a code of them was just spent)."""
    return isinstance(device, StaticDevice)


def check_proof(user, proof: str) -> bool:
    """A current code, a recovery code or the password: for turning two-factor login off."""
    try:
        verify(user, proof)
    except DomainError:
        return user.check_password(proof)
    return True


# --- The login's second step ------------------------------------------------------------


def begin_login(request, user, next_url: str) -> None:
    """The password was right: remember who is logging in, not yet logged in."""
    request.session[_PENDING_KEY] = {
        "user": str(user.pk),
        "backend": getattr(user, "backend", "django.contrib.auth.backends.ModelBackend"),
        "next": next_url,
        "since": time.time(),
        # A password change or a log out everywhere meanwhile ends the half-login.
        "hash": user.get_session_auth_hash(),
    }


def pending_login(request):
    """``(user, next_url)`` of the login waiting for its second factor, or None."""
    pending = request.session.get(_PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    if time.time() - pending.get("since", 0) > PENDING_SECONDS:
        del request.session[_PENDING_KEY]
        return None
    user = get_user_model().objects.filter(pk=pending.get("user"), is_active=True).first()
    if user is None or user.get_session_auth_hash() != pending.get("hash"):
        del request.session[_PENDING_KEY]
        return None
    user.backend = pending["backend"]
    return user, pending["next"]


def finish_login(request, user, device: Device) -> None:
    """Log ``user`` in, verified by ``device`` (or verify the session already logged in)."""
    request.session.pop(_PENDING_KEY, None)
    if request.user.is_authenticated and request.user.pk == user.pk:
        request.session.cycle_key()  # more rights now: a new session id
        otp_login(request, device)
        return
    # django-otp puts user.otp_device into the session as the login happens.
    user.otp_device = device
    auth_login(request, user)
