"""Two-factor login for the web (portal/two_factor.py): setting it up, the login's second
step, recovery codes, requiring it, turning it off, and the admin with ADMIN_REQUIRE_2FA.

Codes are computed as an authenticator app computes them, with django-otp's own TOTP
(RFC 6238) over the device's key; nothing of ours is mocked.
"""

import base64
import re
import time

import pytest
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import PASSWORD
from portal import two_factor

pytestmark = pytest.mark.django_db


def code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for ``device`` now (or ``steps_ahead`` steps on:
    the hub takes one step of clock skew, and never the same step twice)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def wrong(right: str) -> str:
    return f"{(int(right) + 1) % 1_000_000:06d}"


@pytest.fixture
def enrolled(owner):
    """alice, with a confirmed authenticator and her recovery codes."""
    device = TOTPDevice.objects.create(user=owner, name="phone", confirmed=True)
    owner.recovery_codes = two_factor.new_recovery_codes(owner)
    owner.totp = device
    return owner


def password_step(client, username="alice", next_url=""):
    url = "/accounts/login/" + (f"?next={next_url}" if next_url else "")
    return client.post(url, {"username": username, "password": PASSWORD})


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


# --- setting it up ------------------------------------------------------------------------


def test_it_confirms_the_authenticator_only_with_a_right_code(client, owner):
    client.force_login(owner)
    page = client.get("/accounts/two-factor/setup/").content.decode()
    device = TOTPDevice.objects.get(user=owner)
    assert not device.confirmed
    # The key as text (what a person types in) and as the otpauth:// link the QR code holds.
    secret = re.search(r"<code data-secret>([A-Z2-7 ]+)</code>", page).group(1)
    assert base64.b32decode(secret.replace(" ", "")) == device.bin_key
    assert "otpauth://totp/Trailhub%3Aalice?secret=" in page
    assert 'src="data:image/svg+xml;base64,' in page

    refused = client.post("/accounts/two-factor/setup/", {"code": wrong(code(device))})
    assert "is not the app&#x27;s current one" in refused.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert not two_factor.is_enabled(owner)
    assert not StaticToken.objects.exists()

    done = client.post("/accounts/two-factor/setup/", {"code": code(device)})
    device.refresh_from_db()
    assert device.confirmed
    shown = re.search(r"<pre>(.*?)</pre>", done.content.decode(), re.S).group(1).split()
    stored = set(StaticToken.objects.filter(device__user=owner).values_list("token", flat=True))
    assert len(shown) == 10 and set(shown) == stored
    # The session that set it up is verified by it.
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    # Shown once: the overview counts them and shows none.
    overview = client.get("/accounts/two-factor/").content.decode()
    assert "Recovery codes left</dt><dd>10" in overview
    assert shown[0] not in overview


def test_setting_up_again_keeps_the_one_unconfirmed_key(client, owner):
    client.force_login(owner)
    client.get("/accounts/two-factor/setup/")
    client.get("/accounts/two-factor/setup/")
    assert TOTPDevice.objects.filter(user=owner).count() == 1


def test_there_is_no_second_set_up_while_it_is_on(client, enrolled):
    client.force_login(enrolled)
    response = client.get("/accounts/two-factor/setup/")
    assert response.status_code == 302 and response["Location"] == "/accounts/two-factor/"
    assert TOTPDevice.objects.filter(user=enrolled).count() == 1


# --- the login ----------------------------------------------------------------------------


def test_the_login_asks_for_the_second_factor_and_refuses_a_wrong_one(client, enrolled):
    response = password_step(client)
    assert response.status_code == 302 and response["Location"] == "/accounts/login/verify/"
    assert not logged_in(client)
    assert client.get("/dashboard/").status_code == 302

    refused = client.post("/accounts/login/verify/", {"code": wrong(code(enrolled.totp))})
    assert refused.status_code == 200
    assert "That code is not right" in refused.content.decode()
    assert not logged_in(client)


def test_a_right_code_logs_in_verified_and_goes_on_to_next(client, enrolled):
    password_step(client, next_url="/accounts/tokens/")
    used = code(enrolled.totp)
    response = client.post("/accounts/login/verify/", {"code": used})
    assert response.status_code == 302 and response["Location"] == "/accounts/tokens/"
    assert logged_in(client)
    assert client.session[DEVICE_ID_SESSION_KEY] == enrolled.totp.persistent_id
    assert client.get("/dashboard/").status_code == 200
    # The same code again (a replay, from someone who watched) is refused.
    client.post("/accounts/logout/")
    password_step(client)
    again = client.post("/accounts/login/verify/", {"code": used})
    assert again.status_code == 200 and not logged_in(client)


def test_a_recovery_code_works_once(client, enrolled, settings):
    # django-otp slows a device down after a wrong code; here only the spent code is judged.
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    first, second = enrolled.recovery_codes[:2]
    password_step(client)
    response = client.post("/accounts/login/verify/", {"code": first.upper()}, follow=True)
    assert response.redirect_chain[-1][0] == "/dashboard/"
    assert "You used a recovery code: 9 left" in response.content.decode()
    client.post("/accounts/logout/")

    password_step(client)
    spent = client.post("/accounts/login/verify/", {"code": first})
    assert "That code is not right (or was used already)" in spent.content.decode()
    assert not logged_in(client)
    assert client.post("/accounts/login/verify/", {"code": second}).status_code == 302
    assert logged_in(client)
    assert two_factor.recovery_codes_left(enrolled) == 8


def test_wrong_codes_count_as_failed_logins(client, enrolled, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # our limits alone, not django-otp's slowing down
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login": "3/min",
        },
    }
    password_step(client)
    for _ in range(3):
        client.post("/accounts/login/verify/", {"code": wrong(code(enrolled.totp))})
    response = client.post("/accounts/login/verify/", {"code": code(enrolled.totp)})
    assert "Too many failed logins; try again in" in response.content.decode()
    assert not logged_in(client)
    # The password form counts the same failures.
    assert "Too many failed logins" in password_step(client).content.decode()


def test_django_otp_slows_down_guessing_and_says_when(client, enrolled, settings):
    # After n wrong codes a device waits factor × 2^(n-1) seconds (django-otp's throttling).
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    password_step(client)
    client.post("/accounts/login/verify/", {"code": wrong(code(enrolled.totp))})
    response = client.post("/accounts/login/verify/", {"code": code(enrolled.totp)})
    # 60 seconds from the wrong code (fewer when the machine is slow).
    assert re.search(
        r"Too many wrong codes; try again in [1-6]?[0-9] seconds\.", response.content.decode()
    )
    assert not logged_in(client)


@pytest.mark.parametrize(
    "bad",
    ["", "x" * 33, "12345\x00", "١٢٣٤٥٦", "' OR 1=1 --", "12 34 56 78", "\u202e123456"],
)
def test_a_malformed_code_is_a_form_error(client, enrolled, bad):
    password_step(client)
    response = client.post("/accounts/login/verify/", {"code": bad})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not logged_in(client)


def test_the_second_step_ends_after_a_while_and_with_a_password_change(client, enrolled):
    password_step(client)
    session = client.session
    session["portal.login.pending"]["since"] -= two_factor.PENDING_SECONDS + 1
    session.save()
    response = client.post("/accounts/login/verify/", {"code": code(enrolled.totp)})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert not logged_in(client)

    password_step(client)
    enrolled.set_password("a new long pass phrase")
    enrolled.save()
    response = client.post("/accounts/login/verify/", {"code": code(enrolled.totp)})
    assert response["Location"] == "/accounts/login/" and not logged_in(client)


def test_an_account_without_it_logs_in_as_before(client, owner):
    response = password_step(client)
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert logged_in(client)
    assert "portal.login.pending" not in client.session
    assert client.get("/accounts/login/verify/")["Location"] == "/accounts/login/"


def test_the_api_login_is_not_asked_for_a_code(api, enrolled):
    """pvr, devices and scripts log in with ``POST /auth/login`` as before
    (docs/security.md: the second factor guards the web session)."""
    response = api.post("/auth/login", {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 200 and response.json()["token"]


# --- recovery codes, requiring it, turning it off -----------------------------------------


def test_new_recovery_codes_replace_the_old_ones_after_a_confirmation(client, enrolled):
    client.force_login(enrolled)
    asked = client.get("/accounts/two-factor/recovery-codes/").content.decode()
    assert "Make new recovery codes?" in asked
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(enrolled.recovery_codes)
    page = client.post("/accounts/two-factor/recovery-codes/").content.decode()
    shown = re.search(r"<pre>(.*?)</pre>", page, re.S).group(1).split()
    assert len(shown) == 10
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(shown)
    assert not set(shown) & set(enrolled.recovery_codes)


def profile_form(**changes) -> dict:
    return {"email": "alice@example.com", "first_name": "", "last_name": "", "bio": "", **changes}


def test_requiring_it_needs_a_confirmed_authenticator(client, owner):
    client.force_login(owner)
    client.get("/accounts/two-factor/setup/")  # a key, not confirmed
    response = client.post("/accounts/profile/", profile_form(require_2fa="on"))
    assert response.status_code == 200
    assert "Set up two-factor login first" in response.content.decode()
    owner.refresh_from_db()
    assert not owner.require_2fa


def test_a_required_one_cannot_be_turned_off_until_unticked(client, enrolled):
    client.force_login(enrolled)
    client.post("/accounts/profile/", profile_form(require_2fa="on"))
    enrolled.refresh_from_db()
    assert enrolled.require_2fa
    response = client.post("/accounts/two-factor/off/", {"proof": PASSWORD})
    assert "Your account requires two-factor login" in response.content.decode()
    assert two_factor.is_enabled(enrolled)

    client.post("/accounts/profile/", profile_form())
    client.post("/accounts/two-factor/off/", {"proof": PASSWORD})
    assert not two_factor.is_enabled(enrolled)


def test_turning_it_off_asks_for_a_code_or_the_password(client, enrolled):
    client.force_login(enrolled)
    refused = client.post("/accounts/two-factor/off/", {"proof": "not my password"})
    assert "neither a current code nor your password" in refused.content.decode()
    assert two_factor.is_enabled(enrolled)

    response = client.post("/accounts/two-factor/off/", {"proof": code(enrolled.totp)})
    assert response.status_code == 302
    assert not two_factor.is_enabled(enrolled)
    assert not StaticToken.objects.exists()
    client.post("/accounts/logout/")
    assert password_step(client)["Location"] == "/dashboard/"


@pytest.mark.parametrize(
    "url",
    [
        "/accounts/two-factor/",
        "/accounts/two-factor/setup/",
        "/accounts/two-factor/recovery-codes/",
        "/accounts/two-factor/off/",
    ],
)
def test_the_pages_need_a_login(client, url):
    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
    assert not TOTPDevice.objects.exists()


# --- the admin ----------------------------------------------------------------------------


@pytest.fixture
def staff(make_user):
    return make_user("root", is_staff=True, is_superuser=True)


def test_the_admin_login_asks_for_the_second_factor_too(client, staff):
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    response = client.post(
        "/admin/login/?next=/admin/portal/user/", {"username": "root", "password": PASSWORD}
    )
    assert response["Location"] == "/accounts/login/verify/"
    assert not logged_in(client)
    response = client.post("/accounts/login/verify/", {"code": code(device)})
    assert response["Location"] == "/admin/portal/user/"
    assert client.get("/admin/portal/user/").status_code == 200


def test_admin_require_2fa_sends_staff_without_an_authenticator_to_set_one_up(
    client, staff, settings
):
    settings.ADMIN_REQUIRE_2FA = True
    client.force_login(staff)
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/two-factor/setup/"
    assert "The admin asks for two-factor login" in response.content.decode()

    device = TOTPDevice.objects.get(user=staff)
    client.post("/accounts/two-factor/setup/", {"code": code(device)})
    assert client.get("/admin/").status_code == 200


def test_admin_require_2fa_asks_an_unverified_session_for_a_code(client, staff, settings):
    settings.ADMIN_REQUIRE_2FA = True
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    client.force_login(staff)  # a session from before the authenticator, say
    response = client.get("/admin/portal/user/", follow=True)
    assert (
        response.redirect_chain[-1][0] == "/accounts/login/verify/?next=%2Fadmin%2Fportal%2Fuser%2F"
    )
    assert client.get("/admin/portal/user/").status_code == 302

    response = client.post(response.redirect_chain[-1][0], {"code": code(device)})
    assert response["Location"] == "/admin/portal/user/"
    assert client.get("/admin/portal/user/").status_code == 200


def test_without_admin_require_2fa_a_password_session_reaches_the_admin(client, staff):
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200
