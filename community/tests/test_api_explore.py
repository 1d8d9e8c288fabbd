"""The community's device lists over the API: explore, a user's devices, a device's forks."""

from __future__ import annotations

import pytest

from community.models import Fork, Star

pytestmark = pytest.mark.django_db


def nicks(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [card["nick"] for card in response.json()["devices"]]


def fork(source, into, rev: int = 0):
    return Fork.objects.create(
        device=into,
        rev=rev,
        source_device=source,
        source_rev=0,
        source_label=f"{source.owner.username}/{source.nick}",
    )


def test_it_lists_public_devices_only_and_never_counts_a_private_one(
    api, owner, outsider, make_device
):
    make_device(owner, nick="shown", public=True, description="hello")
    make_device(owner, nick="secret-one")
    make_device(outsider, nick="secret-two", description="hello")
    for caller in (None, owner, outsider):
        answer = api.as_(caller).get("/community/devices", {"q": "" if caller else "hello"})
        assert nicks(answer) == ["shown"]
        assert answer.json()["count"] == 1
        assert "secret" not in answer.content.decode()


def test_it_searches_nick_and_description(api, owner, make_device):
    make_device(owner, nick="garden-pi", public=True)
    make_device(owner, nick="kiosk", public=True, description="Runs a GARDEN sprinkler")
    make_device(owner, nick="router", public=True, description="wifi")
    assert sorted(nicks(api.get("/community/devices", {"q": " garden "}))) == [
        "garden-pi",
        "kiosk",
    ]
    answer = api.get("/community/devices", {"q": "nothing-like-this"})
    assert nicks(answer) == [] and answer.json()["count"] == 0


def test_it_sorts_by_activity_stars_and_forks(
    api, owner, outsider, make_user, make_device, add_step
):
    quiet = make_device(owner, nick="quiet", public=True)
    starry = make_device(owner, nick="starry", public=True)
    forked = make_device(owner, nick="forked", public=True)
    carol = make_user("carol")
    Star.objects.create(user=outsider, device=starry)
    Star.objects.create(user=carol, device=starry)
    Star.objects.create(user=carol, device=forked)
    for n in range(2):
        fork(forked, make_device(outsider, nick=f"copy{n}"))
    add_step(forked)
    add_step(quiet)  # the most recent activity

    assert nicks(api.get("/community/devices", {"sort": "stars"})) == ["starry", "forked", "quiet"]
    assert nicks(api.get("/community/devices", {"sort": "forks"})) == ["forked", "quiet", "starry"]
    assert nicks(api.get("/community/devices", {"sort": "activity"})) == [
        "quiet",
        "forked",
        "starry",
    ]
    assert nicks(api.get("/community/devices")) == ["quiet", "forked", "starry"]


def test_it_answers_what_a_card_shows(api, owner, outsider, make_device, add_step):
    kiosk = make_device(owner, nick="kiosk", public=True, description="A public kiosk")
    add_step(kiosk)
    add_step(kiosk)
    Star.objects.create(user=outsider, device=kiosk)
    fork(kiosk, make_device(outsider, nick="copy", public=True))
    cards = api.as_(outsider).get("/community/devices", {"q": "kiosk"}).json()["devices"]
    assert len(cards) == 1
    card = cards[0]
    assert card["id"] == kiosk.id
    assert (card["owner-nick"], card["nick"], card["description"]) == (
        "alice",
        "kiosk",
        "A public kiosk",
    )
    assert (card["stars"], card["forks"], card["head-rev"]) == (1, 1, 1)
    assert card["starred"] is True and card["public"] is True
    assert card["last-activity"]
    assert api.as_(owner).get("/community/devices").json()["devices"][0]["starred"] is False


def test_it_pages_by_number(api, owner, make_device):
    for n in range(5):
        make_device(owner, nick=f"d{n}", public=True)
    pages = [
        api.get("/community/devices", {"limit": 2, "page": page}).json() for page in (1, 2, 3, 4)
    ]
    assert [len(p["devices"]) for p in pages] == [2, 2, 1, 0]  # past the end: none
    assert {(p["count"], p["limit"]) for p in pages} == {(5, 2)}
    assert [p["page"] for p in pages] == [1, 2, 3, 4]
    seen = [card["nick"] for p in pages for card in p["devices"]]
    assert sorted(seen) == [f"d{n}" for n in range(5)]
    assert len(api.get("/community/devices").json()["devices"]) == 5  # default limit 24


@pytest.mark.parametrize(
    "query, code",
    [
        ({"sort": "recent"}, "bad-sort"),
        ({"page": "0"}, "bad-page"),
        ({"page": "two"}, "bad-page"),
        ({"page": "²"}, "bad-page"),
        ({"page": "9" * 5000}, "bad-page"),
        ({"limit": "101"}, "bad-limit"),
        ({"limit": "-1"}, "bad-limit"),
        ({"q": "x" * 101}, "bad-q"),
        ({"q": "a\x00b"}, "nul-character"),  # portal/middleware.py, for every URL
    ],
)
def test_it_refuses_bad_parameters(api, query, code):
    answer = api.get("/community/devices", query)
    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == code and answer.json()["error"]


def test_it_lists_any_page_in_the_same_number_of_queries(
    api, owner, outsider, make_device, django_assert_num_queries
):
    for n in range(30):
        device = make_device(owner, nick=f"d{n:02}", public=True)
        Star.objects.create(user=outsider, device=device)
    api.as_(outsider)
    # The caller's login, the count, the page's ids, the cards.
    for page in ("1", "2"):
        with django_assert_num_queries(4):
            answer = api.get("/community/devices", {"sort": "stars", "limit": "20", "page": page})
        assert len(answer.json()["devices"]) == (20 if page == "1" else 10)


def test_a_users_devices_are_their_public_ones_and_all_to_themselves(
    api, owner, outsider, make_device
):
    make_device(owner, nick="open", public=True)
    make_device(owner, nick="closed")
    make_device(outsider, nick="elsewhere", public=True)
    for caller in (None, outsider):
        answer = api.as_(caller).get("/community/users/alice/devices")
        assert nicks(answer) == ["open"] and answer.json()["count"] == 1
    answer = api.as_(owner).get("/community/users/alice/devices")
    assert sorted(nicks(answer)) == ["closed", "open"] and answer.json()["count"] == 2


def test_an_unknown_or_deactivated_user_is_a_404(api, make_user):
    make_user("gone", is_active=False)
    for nick in ("nobody", "gone"):
        answer = api.get(f"/community/users/{nick}/devices")
        assert answer.status_code == 404 and answer.json()["code"]


def test_a_devices_forks_are_those_into_devices_the_caller_may_see(
    api, owner, outsider, make_user, make_device
):
    kiosk = make_device(owner, nick="kiosk", public=True)
    seen = fork(kiosk, make_device(outsider, nick="open-copy", public=True), rev=3)
    fork(kiosk, make_device(outsider, nick="closed-copy"))
    carol = make_user("carol")

    def copies(caller) -> list[str]:
        answer = api.as_(caller).get(f"/devices/{kiosk.id}/forks")
        assert answer.status_code == 200, answer.content
        body = answer.json()
        assert body["count"] == len(body["forks"])
        return [item["device"]["nick"] for item in body["forks"]]

    assert copies(None) == copies(carol) == copies(owner) == ["open-copy"]
    assert copies(outsider) == ["closed-copy", "open-copy"]  # newest first
    item = api.as_(None).get(f"/devices/{kiosk.id}/forks").json()["forks"][0]
    assert (item["rev"], item["source-rev"], item["device"]["owner-nick"]) == (3, 0, "mallory")
    assert item["device"]["id"] == seen.device_id
    # The card counts both (a number only), as the pages do.
    cards = {card["nick"]: card for card in api.get("/community/devices").json()["devices"]}
    assert cards["kiosk"]["forks"] == 2 and "closed-copy" not in cards


def test_the_forks_of_a_private_device_are_hidden_with_it(api, owner, outsider, make_device):
    secret = make_device(owner, nick="secret")
    fork(secret, make_device(owner, nick="mine"))
    assert api.as_(outsider).get(f"/devices/{secret.id}/forks").status_code == 404
    anonymous = api.as_(None).get(f"/devices/{secret.id}/forks")
    assert anonymous.status_code == 401 and "ph-aeps" in anonymous["WWW-Authenticate"]
    answer = api.as_(owner).get(f"/devices/{secret.id}/forks")
    assert [item["device"]["nick"] for item in answer.json()["forks"]] == ["mine"]
