"""Concurrent posters: consecutive revision numbers, never the same one, never a gap."""

from __future__ import annotations

import pytest

from portal.errors import DomainError
from revisions import services
from revisions.models import Step, Trail
from revisions.tests.conftest import run_in_threads

SPEC = "pantavisor-service-system@1"
POSTERS = 8


@pytest.fixture
def trail(owner, make_device, trail_of):
    return trail_of(make_device(owner, nick="busy"), {"#spec": SPEC})


def post(trail_id: str, n: int, rev: int = -1):
    trail = Trail.objects.select_related("device__owner").get(pk=trail_id)
    try:
        return services.post_step(trail, {"#spec": SPEC, "n.json": n}, rev=rev).rev
    except DomainError as exc:
        return exc.status_code


@pytest.mark.django_db(transaction=True)
def test_it_numbers_concurrent_appends_without_gaps(trail):
    revs = run_in_threads(post, [(trail.pk, n) for n in range(POSTERS)])
    assert sorted(revs) == list(range(1, POSTERS + 1))
    stored = list(Step.objects.filter(trail=trail).order_by("rev").values_list("rev", "state"))
    assert [rev for rev, _ in stored] == list(range(POSTERS + 1))
    # Each post got the number its own state was stored under.
    assert sorted(state["n.json"] for _, state in stored[1:]) == list(range(POSTERS))
    assert Trail.objects.get(pk=trail.pk).head_rev == POSTERS


@pytest.mark.django_db(transaction=True)
def test_it_gives_a_contested_number_to_one_poster(trail):
    answers = run_in_threads(post, [(trail.pk, n, 1) for n in range(POSTERS)])
    assert sorted(answers) == [1] + [409] * (POSTERS - 1)
    assert Step.objects.filter(trail=trail).count() == 2
    assert Trail.objects.get(pk=trail.pk).head_rev == 1


@pytest.mark.django_db(transaction=True)
def test_it_creates_one_trail_for_concurrent_factory_posts(owner, make_device):
    device = make_device(owner, nick="twice")

    def create(n: int):
        try:
            return services.create_trail(device, {"#spec": SPEC, "n.json": n}).head_rev
        except DomainError as exc:
            return exc.status_code

    answers = run_in_threads(create, [(n,) for n in range(4)])
    assert sorted(answers) == [0, 409, 409, 409]
    assert Step.objects.filter(trail__device=device).count() == 1
