import pytest

from devices.models import AutoToken, Device
from devices.services import create_auto_token, post_logs

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client, owner):
    client.force_login(owner)
    return client


def test_the_pages_need_a_login(client):
    for path in ("/dashboard/claim/", "/dashboard/tokens/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_the_dashboard_links_to_claiming_and_tokens(browser):
    page = browser.get("/dashboard/").content.decode()
    assert 'href="/dashboard/claim/"' in page
    assert 'href="/dashboard/tokens/"' in page


def test_the_claim_form_is_prefilled_from_the_query_string(browser, unclaimed):
    page = browser.get(f"/dashboard/claim/?id={unclaimed.id}&challenge=maple-river-42")
    assert page.status_code == 200
    assert f'value="{unclaimed.id}"' in page.content.decode()
    assert 'value="maple-river-42"' in page.content.decode()


def test_the_claim_form_claims_a_device(browser, owner, unclaimed):
    response = browser.post(
        "/dashboard/claim/",
        {"device_id": unclaimed.id, "challenge": "maple-river-42"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/dashboard/"
    assert "gentle-finch is yours now." in response.content.decode()
    assert Device.objects.get(id=unclaimed.id).owner == owner


@pytest.mark.parametrize(
    ("device_id", "challenge", "message"),
    [
        ("{id}", "wrong-wrong-00", "wrong challenge for this device"),
        ("0123456789abcdef01234567", "maple-river-42", "No unclaimed device has this id."),
    ],
)
def test_the_claim_form_explains_a_refusal(browser, unclaimed, device_id, challenge, message):
    response = browser.post(
        "/dashboard/claim/",
        {"device_id": device_id.format(id=unclaimed.id), "challenge": challenge},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Device.objects.get(id=unclaimed.id).owner is None


def test_creating_a_token_shows_it_once(browser, owner):
    response = browser.post(
        "/dashboard/tokens/", {"description": "line 2", "default_user_meta": '{"site": "lab"}'}
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    token = AutoToken.objects.get()
    raw = response.context["new_token"]["raw"]
    assert raw in response.content.decode()
    assert token.owner == owner and token.default_user_meta == {"site": "lab"}
    later = browser.get("/dashboard/tokens/").content.decode()
    assert raw not in later
    assert token.prefix in later and "line 2" in later
    assert "{&quot;site&quot;: &quot;lab&quot;}" in later  # shown as JSON


def test_it_refuses_default_user_meta_that_is_not_a_json_object(browser):
    response = browser.post("/dashboard/tokens/", {"default_user_meta": "[1, 2]"})
    assert "must be a JSON object" in response.content.decode()
    response = browser.post("/dashboard/tokens/", {"default_user_meta": "{oops"})
    assert "Not valid JSON" in response.content.decode()
    assert not AutoToken.objects.exists()


def test_the_tokens_page_lists_only_the_users_tokens(browser, owner, outsider):
    create_auto_token(owner, "mine")
    create_auto_token(outsider, "theirs")
    page = browser.get("/dashboard/tokens/").content.decode()
    assert "mine" in page and "theirs" not in page


def test_disabling_a_token(browser, owner, outsider):
    token, _ = create_auto_token(owner, "mine")
    response = browser.post(f"/dashboard/tokens/{token.id}/disable/", follow=True)
    assert response.redirect_chain[-1][0] == "/dashboard/tokens/"
    assert "is disabled" in response.content.decode()
    token.refresh_from_db()
    assert token.disabled is True
    theirs, _ = create_auto_token(outsider, "theirs")
    assert browser.post(f"/dashboard/tokens/{theirs.id}/disable/").status_code == 404
    assert browser.get(f"/dashboard/tokens/{token.id}/disable/").status_code == 405
    theirs.refresh_from_db()
    assert theirs.disabled is False


def test_the_admin_lists_devices_tokens_and_logs(client, make_user, device):
    admin = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    create_auto_token(admin, "factory")
    post_logs(device, [{"msg": "booted", "lvl": "info"}])
    for path, shown in (
        ("/admin/devices/device/", "kiosk"),
        (f"/admin/devices/device/{device.id}/change/", device.id),
        ("/admin/devices/autotoken/", "factory"),
        ("/admin/devices/devicelog/", "booted"),
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert shown in response.content.decode()
