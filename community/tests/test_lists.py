"""The profile, the home page and the dashboard."""

import pytest

from community.models import Star

pytestmark = pytest.mark.django_db


def nicks(devices) -> list[str]:
    return sorted(d.nick for d in devices)


def test_a_profile_shows_public_devices_to_others_and_all_to_the_owner(
    client, owner, outsider, make_device
):
    make_device(owner, nick="open", public=True)
    make_device(owner, nick="closed", public=False)
    assert nicks(client.get("/u/alice/").context["page"].object_list) == ["open"]
    client.force_login(outsider)
    assert nicks(client.get("/u/alice/").context["page"].object_list) == ["open"]
    client.force_login(owner)
    assert nicks(client.get("/u/alice/").context["page"].object_list) == ["closed", "open"]


def test_a_profile_lists_visible_starred_devices(client, owner, outsider, make_device):
    shown = make_device(outsider, nick="theirs", public=True)
    hidden = make_device(outsider, nick="private-theirs", public=False)
    Star.objects.create(user=owner, device=shown)
    Star.objects.create(user=owner, device=hidden)  # starred while it was public
    assert nicks(client.get("/u/alice/").context["starred"]) == ["theirs"]


def test_an_unknown_profile_is_a_404(client):
    assert client.get("/u/nobody/").status_code == 404


def test_the_home_page_shows_popular_and_recent_public_devices(
    client, owner, outsider, make_device
):
    starred = make_device(owner, nick="starred", public=True)
    make_device(owner, nick="private", public=False)
    Star.objects.create(user=outsider, device=starred)
    response = client.get("/")
    assert response.status_code == 200
    assert [d.nick for d in response.context["popular"]][0] == "starred"
    assert "private" not in nicks(response.context["recent"])


def test_the_dashboard_lists_only_my_devices_with_their_status(
    client, owner, outsider, make_device, add_step
):
    mine = make_device(owner, nick="mine")
    make_device(outsider, nick="theirs", public=True)
    add_step(mine)
    client.force_login(owner)
    response = client.get("/dashboard/")
    [device] = response.context["page"].object_list
    assert device.nick == "mine"
    assert (device.head_rev, device.head_status, device.running_rev) == (0, "DONE", 0)
    assert 'href="/u/alice/mine/"' in response.content.decode()


@pytest.mark.parametrize("url", ["/", "/dashboard/", "/u/alice/"])
def test_lists_run_a_fixed_number_of_queries(
    client, owner, outsider, make_device, add_step, django_assert_num_queries, url
):
    client.force_login(owner)

    def fill(start: int, count: int) -> None:
        for n in range(start, start + count):
            device = make_device(owner, nick=f"d{n}", public=True)
            add_step(device)
            Star.objects.create(user=owner, device=device)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fill(0, 3)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    fill(3, 27)
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(url)
