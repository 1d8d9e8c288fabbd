"""Brute force and registration limits (reviews/security.md, issue 17, items 3 and 10).

Each test replays the pentester's requests against the fix: the client
address is REMOTE_ADDR unless TRUSTED_PROXIES proxies stand in front, so a new
``X-Forwarded-For`` per try counts as the same caller; failed logins are
counted per address and account, per address (people) and per account, on the
login form and ``POST /auth/login`` alike (portal/limits.py).
"""

from __future__ import annotations

import pytest
from django.core import mail

from conftest import PASSWORD
from trail.wire import ANON_PRN

pytestmark = pytest.mark.reliability

PROXY = "127.0.0.1"  # REMOTE_ADDR of every test request


def login(api, username, password=PASSWORD, **headers):
    body = {"username": username, "password": password}
    return api.post("/auth/login", body, format="json", **headers)


def form_login(client, username, password=PASSWORD, **headers):
    body = {"username": username, "password": password}
    return client.post("/accounts/login/", body, **headers)


def xff(value: str) -> dict:
    return {"HTTP_X_FORWARDED_FOR": value}


def remote(address: str) -> dict:
    return {"REMOTE_ADDR": address}


@pytest.fixture
def rates(settings):
    """``rates(login_account="3/hour")``: set throttle rates for one test."""

    def set_rates(**rates: str) -> None:
        rest = dict(settings.REST_FRAMEWORK)
        rest["DEFAULT_THROTTLE_RATES"] = {
            **rest["DEFAULT_THROTTLE_RATES"],
            **{scope.replace("_", "-"): rate for scope, rate in rates.items()},
        }
        settings.REST_FRAMEWORK = rest

    return set_rates


@pytest.fixture
def trusted_proxies(settings):
    def trust(count: int) -> None:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": count}

    return trust


def assert_throttled(response) -> None:
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["code"] == "throttled"
    assert "try again in" in body["error"]
    assert int(response["Retry-After"]) >= 1


# --- 3: the client address ------------------------------------------------------------


@pytest.mark.parametrize("forwarded", ["10.0.0.{i}", "10.0.0.{i}, 127.0.0.1"])
def test_a_new_x_forwarded_for_per_try_does_not_lift_the_login_limit(api, owner, forwarded):
    """t1.py: 13x 401 with a rotating X-Forwarded-For, never a 429."""
    for i in range(10):
        response = login(api, "alice", "wrong", **xff(forwarded.format(i=i)))
        assert response.status_code == 401
    assert_throttled(login(api, "alice", "wrong", **xff(forwarded.format(i=10))))
    # The lockout is the documented one: this account, from this address, for the window.
    assert_throttled(login(api, "alice", **xff("10.0.0.99")))
    assert login(api, "alice", **remote("192.0.2.1")).status_code == 200


def test_behind_one_trusted_proxy_the_address_it_appends_is_counted(api, owner, trusted_proxies):
    """With TRUSTED_PROXIES=1 the proxy's own entry (the last) is the client; what
    the client wrote before it is ignored, and another client behind the proxy is not limited."""
    trusted_proxies(1)
    for i in range(10):
        response = login(api, "alice", "wrong", **xff(f"10.0.0.{i}, 203.0.113.7"))
        assert response.status_code == 401
    assert_throttled(login(api, "alice", **xff("203.0.113.7")))
    assert_throttled(login(api, "alice", **xff("198.51.100.1, 203.0.113.7")))
    assert login(api, "alice", **xff("203.0.113.8")).status_code == 200


def test_without_trusted_proxies_the_header_is_ignored(api, owner):
    """TRUSTED_PROXIES=0 (the default): whatever X-Forwarded-For says, REMOTE_ADDR counts."""
    for i in range(10):
        login(api, "alice", "wrong", **xff(f"203.0.113.{i}"), **remote("192.0.2.5"))
    assert_throttled(login(api, "alice", **remote("192.0.2.5")))
    assert login(api, "alice", **remote("192.0.2.6")).status_code == 200


# --- 3: per address, per account ---------------------------------------------------------


def test_one_password_across_many_accounts_from_one_address_is_limited(api, make_user):
    """Spraying: 50 failures (LOGIN_ADDRESS_THROTTLE_RATE, 50/hour) from one address, one
    per account, then every account is refused from there; another address is not."""
    make_user("zoe")
    for i in range(50):
        response = login(api, f"user{i}", "Summer2024!", **xff(f"10.1.0.{i}"))
        assert response.status_code == 401
    assert_throttled(login(api, "user50", "Summer2024!"))
    assert_throttled(login(api, "zoe"))
    assert login(api, "zoe", **remote("192.0.2.1")).status_code == 200


def test_guesses_at_one_account_from_many_addresses_are_limited(api, owner, outsider, rates):
    """LOGIN_ACCOUNT_THROTTLE_RATE counts one account's failures from any address."""
    rates(login_account="12/hour")
    for i in range(12):
        assert login(api, "alice", "wrong", **remote(f"192.0.2.{i}")).status_code == 401
    assert_throttled(login(api, "alice", **remote("192.0.2.200")))
    assert login(api, "mallory", **remote("192.0.2.200")).status_code == 200


def test_device_logins_count_per_device_not_per_address(api, owner, make_device, rates):
    """A fleet behind one NAT: a device with a wrong secret is limited, its siblings
    behind the same address (and the people there) are not."""
    rates(login_address="3/hour")
    broken, *fleet = [make_device(owner, nick=f"unit-{i}") for i in range(6)]
    for _ in range(10):
        assert login(api, broken.prn, "stale-secret").status_code == 401
    assert_throttled(login(api, broken.prn, broken.secret))
    for device in fleet:
        assert login(api, device.prn, "wrong").status_code == 401  # one failure each
        assert login(api, device.prn, device.secret).status_code == 200
    assert login(api, "alice").status_code == 200  # device failures are not the address's


def test_the_anonymous_login_is_never_limited(api, owner):
    """pvr logs in anonymously before every command against a private device
    (pvr libpvr/session.go DoAuthCall): not counted, and not refused once the
    address is limited."""
    for i in range(50):
        login(api, f"user{i}", "wrong")
    assert_throttled(login(api, "alice"))
    response = login(api, ANON_PRN, ANON_PRN)
    assert response.status_code == 200
    assert response.json()["token"]


# --- 3: the login form ---------------------------------------------------------------------


def test_the_login_form_is_limited_like_the_api(client, api, owner):
    """browse.py: 15 wrong passwords on /accounts/login/ were 15x 200, then the right one got in."""
    for i in range(5):
        assert form_login(client, "alice", "wrong", **xff(f"10.0.0.{i}")).status_code == 200
    for i in range(5):
        assert login(api, "alice", "wrong", **xff(f"10.0.1.{i}")).status_code == 401
    response = form_login(client, "alice")
    assert response.status_code == 200  # the form again, not the dashboard
    assert "Too many failed logins; try again in" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert_throttled(login(api, "alice"))
    assert form_login(client, "alice", **remote("192.0.2.1")).status_code == 302


def test_the_admin_login_is_limited_too(client, make_user):
    make_user("root", is_staff=True, is_superuser=True)
    for _ in range(10):
        client.post("/admin/login/", {"username": "root", "password": "wrong"})
    response = client.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many failed logins" in response.content.decode()


# --- 10: sign-up, password reset, anonymous registration ---------------------------------


def signup_form(nick: str) -> dict:
    return {
        "username": nick,
        "email": f"{nick}@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }


def test_sign_up_is_limited_per_address_on_the_page_and_the_api_together(
    client, api, rates, django_user_model
):
    """spam.py: 25 web sign-ups in a row were 25x 302, and a rotating X-Forwarded-For
    lifted the API's 20/hour."""
    rates(signup="4/hour")
    for i in range(2):
        response = client.post("/accounts/signup/", signup_form(f"web{i}"), **xff(f"10.0.0.{i}"))
        assert response.status_code == 302
        client.logout()
    for i in range(2):
        body = {"nick": f"api{i}", "email": f"api{i}@example.com", "password": PASSWORD}
        response = api.post("/auth/accounts", body, format="json", **xff(f"10.0.1.{i}"))
        assert response.status_code == 200
    response = client.post("/accounts/signup/", signup_form("web9"), **xff("10.0.0.9"))
    assert response.status_code == 200
    assert "Too many sign-ups from your address; try again in" in response.content.decode()
    body = {"nick": "api9", "email": "api9@example.com", "password": PASSWORD}
    response = api.post("/auth/accounts", body, format="json", **xff("10.0.1.9"))
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert "Retry-After" in response
    assert django_user_model.objects.count() == 4
    other = client.post("/accounts/signup/", signup_form("elsewhere"), **remote("192.0.2.1"))
    assert other.status_code == 302


def test_password_resets_are_limited_per_address(client, owner):
    """spam.py: 10/10 resets accepted from one address (mail bombing).
    PASSWORD_RESET_THROTTLE_RATE is 5/hour."""
    for i in range(5):
        response = client.post(
            "/accounts/password_reset/", {"email": owner.email}, **xff(f"10.0.0.{i}")
        )
        assert response.status_code == 302
    response = client.post("/accounts/password_reset/", {"email": owner.email}, **xff("10.9.9.9"))
    assert response.status_code == 200
    assert "Too many password resets asked; try again in" in response.content.decode()
    assert len(mail.outbox) == 5


def test_anonymous_device_registration_is_limited_per_address(api, owner, rates):
    """spam.py: 200 anonymous POST /devices/ in 2.7 s, the ident taken from X-Forwarded-For."""
    rates(device_register="3/hour")
    for i in range(3):
        response = api.post("/devices/", {}, format="json", **xff(f"10.0.0.{i}"))
        assert response.status_code == 200
    response = api.post("/devices/", {}, format="json", **xff("10.0.0.3"))
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert "Retry-After" in response
    # A person registering a device is not counted.
    assert api.as_(owner).post("/devices/", {}, format="json").status_code == 200
