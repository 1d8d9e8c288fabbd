import pytest

from community.models import Star

pytestmark = pytest.mark.django_db


def test_it_stars_and_unstars_a_public_device(client, outsider, public_device):
    client.force_login(outsider)
    response = client.post("/u/alice/kiosk/star/", {"action": "star"})
    assert response.status_code == 302 and response["Location"] == "/u/alice/kiosk/"
    client.post("/u/alice/kiosk/star/", {"action": "star"})  # twice is still one star
    assert Star.objects.filter(user=outsider, device=public_device).count() == 1
    page = client.get("/u/alice/kiosk/")
    assert page.context["device"].star_count == 1
    assert page.context["device"].starred
    assert "★ Starred" in page.content.decode()
    client.post("/u/alice/kiosk/star/", {"action": "unstar"})
    assert not Star.objects.exists()


def test_it_cannot_star_a_private_device_of_someone_else(client, outsider, device):
    client.force_login(outsider)
    assert client.post("/u/alice/kiosk/star/", {"action": "star"}).status_code == 404
    assert not Star.objects.exists()


def test_starring_needs_a_login_and_a_post(client, outsider, public_device):
    response = client.post("/u/alice/kiosk/star/", {"action": "star"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.force_login(outsider)
    assert client.get("/u/alice/kiosk/star/").status_code == 405
    assert not Star.objects.exists()
