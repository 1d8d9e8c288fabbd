import pytest

from community.models import Fork, Star

pytestmark = pytest.mark.django_db


def names(response) -> list[str]:
    return [d.nick for d in response.context["page"].object_list]


def test_it_lists_public_devices_only(client, owner, make_device):
    make_device(owner, nick="shown", public=True)
    make_device(owner, nick="secret-one", public=False)
    response = client.get("/explore/")
    assert response.status_code == 200
    assert names(response) == ["shown"]
    assert "secret-one" not in response.content.decode()


def test_it_does_not_list_my_private_devices_either(client, owner, make_device):
    make_device(owner, nick="mine", public=False)
    client.force_login(owner)
    assert names(client.get("/explore/")) == []


def test_it_searches_nick_and_description(client, owner, make_device):
    make_device(owner, nick="garden-pi", public=True)
    make_device(owner, nick="kiosk", public=True, description="Runs a GARDEN sprinkler")
    make_device(owner, nick="router", public=True, description="wifi")
    response = client.get("/explore/", {"q": "garden"})
    assert sorted(names(response)) == ["garden-pi", "kiosk"]
    assert names(client.get("/explore/", {"q": "nothing-like-this"})) == []


def test_it_sorts_by_stars_forks_and_recent_activity(
    client, owner, outsider, make_user, make_device, add_step
):
    quiet = make_device(owner, nick="quiet", public=True)
    starry = make_device(owner, nick="starry", public=True)
    forked = make_device(owner, nick="forked", public=True)
    carol = make_user("carol")
    Star.objects.create(user=outsider, device=starry)
    Star.objects.create(user=carol, device=starry)
    Star.objects.create(user=carol, device=forked)
    for n in range(2):
        target = make_device(outsider, nick=f"copy{n}")
        Fork.objects.create(
            device=target, rev=0, source_device=forked, source_rev=0, source_label="alice/forked"
        )
    add_step(quiet)  # the most recent activity

    assert names(client.get("/explore/", {"sort": "stars"}))[:2] == ["starry", "forked"]
    assert names(client.get("/explore/", {"sort": "forks"}))[0] == "forked"
    assert names(client.get("/explore/", {"sort": "recent"}))[0] == "quiet"
    assert names(client.get("/explore/", {"sort": "bogus"}))[0] == "quiet"
    page = client.get("/explore/", {"sort": "stars"}).context["page"]
    counts = {d.nick: (d.star_count, d.fork_count) for d in page.object_list}
    assert counts["starry"] == (2, 0)
    assert counts["forked"] == (1, 2)
    assert quiet.id not in {f.device_id for f in Fork.objects.all()}


def test_it_paginates(client, owner, make_device):
    for n in range(30):
        make_device(owner, nick=f"d{n:02}", public=True)
    first = client.get("/explore/")
    second = client.get("/explore/", {"page": 2})
    assert len(first.context["page"].object_list) == 24
    assert len(second.context["page"].object_list) == 6
    assert not set(names(first)) & set(names(second))
    # A page past the end shows the last one instead of failing.
    assert client.get("/explore/", {"page": 99}).context["page"].number == 2


def test_it_escapes_descriptions_and_queries(client, owner, make_device):
    make_device(owner, nick="evil", public=True, description="<script>alert(1)</script>")
    body = client.get("/explore/", {"q": "<img src=x onerror=alert(2)>"}).content.decode()
    assert "<img src=x" not in body
    body = client.get("/explore/").content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


@pytest.mark.parametrize("logged_in", [False, True])
def test_it_runs_a_fixed_number_of_queries(
    client, owner, outsider, make_device, add_step, django_assert_num_queries, logged_in
):
    if logged_in:
        client.force_login(outsider)

    def fill(count: int) -> None:
        for n in range(count):
            device = make_device(owner, nick=f"many{count}-{n}", public=True)
            add_step(device)
            Star.objects.create(user=outsider, device=device)

    # session + user when logged in; for the list: the count, the page's ids, their cards.
    expected = 3 + (2 if logged_in else 0)
    fill(3)
    with django_assert_num_queries(expected):
        client.get("/explore/", {"sort": "stars"})
    fill(27)
    with django_assert_num_queries(expected):
        response = client.get("/explore/", {"sort": "stars"})
    assert len(response.context["page"].object_list) == 24
    # A deep page costs the same.
    with django_assert_num_queries(expected):
        client.get("/explore/", {"sort": "stars", "page": 2})
    if logged_in:
        assert all(d.starred for d in response.context["page"].object_list)
