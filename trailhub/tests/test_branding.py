"""The site says it is Trailhub: the admin's name, the favicon."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_admin_is_branded_trailhub(admin_client, client):
    index = admin_client.get("/admin/").content.decode()
    assert '<div id="site-name"><a href="/admin/">Trailhub administration</a></div>' in index
    assert "<title>Trailhub | Trailhub admin</title>" in index
    assert "Django administration" not in index
    login = client.get("/admin/login/").content.decode()
    assert "Trailhub administration" in login and "Django" not in login.split("<body")[1]


def test_every_page_links_the_favicon(client):
    for page in ("/", "/explore/", "/accounts/login/", "/admin/login/"):
        body = client.get(page).content.decode()
        assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in body, page
    assert (
        '<link rel="icon" href="/static/favicon.ico" sizes="32x32">'
        in client.get("/").content.decode()
    )


def test_favicon_ico_answers(client):
    """Browsers ask /favicon.ico whatever a page links (and so does the admin's)."""
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/favicon.ico"
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    data = b"".join(icon.streaming_content) if icon.streaming else icon.content
    assert data[:4] == b"\0\0\1\0"  # an ICO: reserved 0, type 1 (icon)
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg["Content-Type"].startswith("image/svg+xml")
