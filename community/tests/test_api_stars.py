"""Stars over the API: PUT/DELETE /devices/<id>/star and GET /devices/<id>/stargazers."""

from __future__ import annotations

import pytest

from community.models import Star

pytestmark = pytest.mark.django_db


def star_url(device) -> str:
    return f"/devices/{device.id}/star"


def test_it_stars_and_unstars_idempotently_and_counts(api, owner, outsider, public_device):
    for _ in range(2):  # twice is still one star
        answer = api.as_(outsider).put(star_url(public_device))
        assert answer.status_code == 200, answer.content
        assert answer.json() == {"starred": True, "stars": 1}
    assert api.as_(owner).put(star_url(public_device)).json() == {"starred": True, "stars": 2}
    assert Star.objects.filter(device=public_device).count() == 2
    card = api.as_(outsider).get("/community/devices").json()["devices"][0]
    assert (card["stars"], card["starred"]) == (2, True)
    for _ in range(2):  # unstarring without a star changes nothing either
        answer = api.as_(outsider).delete(star_url(public_device))
        assert answer.status_code == 200
        assert answer.json() == {"starred": False, "stars": 1}
    assert list(Star.objects.values_list("user__username", flat=True)) == ["alice"]


def test_it_answers_with_and_without_a_trailing_slash_and_by_nick(api, owner, public_device):
    assert api.as_(owner).put(star_url(public_device) + "/").json()["stars"] == 1
    assert api.as_(owner).delete("/devices/kiosk/star").json()["stars"] == 0


def test_the_owner_may_star_their_private_device(api, owner, device):
    assert api.as_(owner).put(star_url(device)).json() == {"starred": True, "stars": 1}


def test_a_private_device_of_someone_else_is_a_404_and_gets_no_star(api, owner, outsider, device):
    Star.objects.create(user=owner, device=device)
    for method in ("put", "delete"):
        answer = getattr(api.as_(outsider), method)(star_url(device))
        assert answer.status_code == 404 and answer.json()["code"]
    answer = api.as_(outsider).put("/devices/" + "f" * 24 + "/star")
    assert answer.status_code == 404
    assert list(Star.objects.values_list("user__username", flat=True)) == ["alice"]


def test_anonymous_is_told_where_to_log_in(api, public_device):
    for method in ("put", "delete"):
        answer = getattr(api.as_(None), method)(star_url(public_device))
        assert answer.status_code == 401 and answer.json()["code"]
        assert "ph-aeps=" in answer["WWW-Authenticate"]
    assert not Star.objects.exists()


def test_a_device_cannot_star(api, make_device, outsider, public_device):
    other = make_device(outsider, nick="other")
    for caller in (public_device, other):
        answer = api.as_(caller).put(star_url(public_device))
        assert answer.status_code == 403 and answer.json()["code"] == "person-only"
    assert not Star.objects.exists()


def test_stargazers_are_listed_newest_first_and_paged(api, owner, make_user, public_device):
    for nick in ("bob", "carol", "dave"):
        api.as_(make_user(nick)).put(star_url(public_device))
    api.as_(None)
    first = api.get(f"/devices/{public_device.id}/stargazers", {"limit": 2}).json()
    second = api.get(f"/devices/{public_device.id}/stargazers", {"limit": 2, "page": 2}).json()
    assert [s["nick"] for s in first["stargazers"]] == ["dave", "carol"]
    assert [s["nick"] for s in second["stargazers"]] == ["bob"]
    assert first["count"] == second["count"] == 3
    assert all(s["time-starred"] for s in first["stargazers"])
    bad = api.get(f"/devices/{public_device.id}/stargazers", {"page": "-1"})
    assert bad.status_code == 400 and bad.json()["code"] == "bad-page"


def test_the_stargazers_of_a_private_device_are_hidden_with_it(api, owner, outsider, device):
    Star.objects.create(user=owner, device=device)
    assert api.as_(outsider).get(f"/devices/{device.id}/stargazers").status_code == 404
    assert api.as_(None).get(f"/devices/{device.id}/stargazers").status_code == 401
    mine = api.as_(owner).get(f"/devices/{device.id}/stargazers").json()
    assert [s["nick"] for s in mine["stargazers"]] == ["alice"]
    # The device itself may see who starred it, as it may see itself.
    assert api.as_(device).get(f"/devices/{device.id}/stargazers").status_code == 200
