"""A device's poll of its own trail: from the cache while nothing changed, fresh after any change."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import override_settings

from devices import presence
from devices.models import Device
from revisions import pollcache, services
from revisions.api import poll
from revisions.models import Step

SPEC = "pantavisor-service-system@1"


@pytest.fixture
def trail(device, trail_of):
    return trail_of(device, {"#spec": SPEC})


def polled(api, device, etag: str = ""):
    headers = {"HTTP_IF_NONE_MATCH": etag} if etag else {}
    return api.as_(device).get(f"/trails/{device.id}/steps", **headers)


def test_it_answers_an_unchanged_poll_with_304_and_no_query(
    api, owner, device, trail, django_assert_num_queries
):
    services.post_step(trail, {"#spec": SPEC, "a.json": 1}, author=owner)
    first = polled(api, device)
    assert first.status_code == 200 and [s["rev"] for s in first.json()] == [1]
    with django_assert_num_queries(0):
        again = polled(api, device, first["ETag"])
        plain = polled(api, device)
    assert again.status_code == 304 and again["ETag"] == first["ETag"]
    assert plain.status_code == 200 and plain.content == first.content


def step_of(trail) -> Step:
    return Step.objects.get(trail=trail, rev=1)


def post_one(trail, owner) -> Step:
    return services.post_step(trail, {"#spec": SPEC, "a.json": 1}, author=owner)


# Each changes what the device's poll answers (the first: [] becomes [rev 1]).
CHANGES = {
    "a new revision": lambda t, o: post_one(t, o),
    "progress": lambda t, o: services.report_progress(step_of(t), "DOWNLOADING", progress=40),
    "cancelled": lambda t, o: services.cancel_step(step_of(t)),
    "a replaced state": lambda t, o: services.replace_state(
        step_of(t), {"#spec": SPEC, "c.json": 3}
    ),
    "new meta": lambda t, o: services.set_meta(step_of(t), {"note": "x"}),
}


@pytest.mark.parametrize("change", CHANGES)
def test_it_answers_afresh_after_any_change(api, owner, device, trail, change):
    if change != "a new revision":
        post_one(trail, owner)
    before = polled(api, device)
    assert polled(api, device, before["ETag"]).status_code == 304

    CHANGES[change](trail, owner)

    after = polled(api, device, before["ETag"])
    cache.delete(f"poll:{device.id}")  # what the full view answers now, without the cache
    expected = polled(api, device)
    assert after.status_code == 200 and after.json() == expected.json() != before.json()
    assert after["ETag"] == expected["ETag"] != before["ETag"]


def test_an_edited_device_is_polled_from_the_database_again(api, device, trail):
    polled(api, device)
    assert poll.from_cache(_request(device), device.id) is not None
    Device.objects.get(pk=device.pk).save()
    assert poll.from_cache(_request(device), device.id) is None


def test_it_refuses_a_deleted_devices_poll(api, device, trail):
    token_holder = Device.objects.get(pk=device.pk)
    assert polled(api, device).status_code == 200
    api.as_(token_holder)  # the token is made before the device goes
    Device.objects.filter(pk=device.pk).delete()
    assert api.get(f"/trails/{device.id}/steps").status_code == 401


def test_it_never_serves_an_answer_read_before_a_change_committed(api, owner, device, trail):
    assert polled(api, device).status_code == 200
    current = pollcache.version(device.id)  # a poll reads the version, then the database…
    pollcache.changed(device.id)  # …while a revision is posted and commits…
    # …and then stores what it read, under the old version.
    poll.answer(_request(device), device.id, [], current)
    assert poll.from_cache(_request(device), device.id) is None  # the next poll reads the database


def _request(device):
    from django.test import RequestFactory

    from portal.auth import issue_token

    return RequestFactory().get(
        f"/trails/{device.id}/steps", HTTP_AUTHORIZATION=f"Bearer {issue_token(device)}"
    )


def test_a_poll_from_the_cache_still_marks_the_device_seen(api, device, trail):
    first = polled(api, device)
    Device.objects.filter(pk=device.pk).update(last_seen=None)
    presence.forget()  # the interval has passed
    assert polled(api, device, first["ETag"]).status_code == 304
    assert Device.objects.get(pk=device.pk).last_seen is not None  # presence was written


@pytest.mark.parametrize("who", ["owner", "sibling", "anonymous"])
def test_only_the_device_itself_gets_the_cached_answer(api, owner, device, trail, make_device, who):
    polled(api, device)
    caller = {"owner": owner, "sibling": make_device(owner, nick="sib"), "anonymous": None}[who]
    answer = api.as_(caller).get(f"/trails/{device.id}/steps")
    assert "ETag" not in answer  # the full view answered
    assert answer.status_code == {"owner": 200, "sibling": 404, "anonymous": 401}[who]


def test_a_filtered_poll_is_not_cached(api, owner, device, trail, django_assert_num_queries):
    services.post_step(trail, {"#spec": SPEC, "a.json": 1}, author=owner)
    polled(api, device)
    answer = api.as_(device).get(f"/trails/{device.id}/steps?progress.status=NEW")
    assert [s["rev"] for s in answer.json()] == [1] and "ETag" not in answer


def test_while_redis_is_unreachable_polls_are_answered_from_the_database(api, owner, device, trail):
    """A Redis restart must not fail the fleet's polls (the cluster test restarts it
    mid-rollout): the cache's errors send the poll to the database, nothing is stored."""
    post_one(trail, owner)
    unreachable = {"BACKEND": "trailhub.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    with override_settings(CACHES={"default": unreachable}):
        first = polled(api, device)
        assert first.status_code == 200 and [s["rev"] for s in first.json()] == [1]
        again = polled(api, device, first["ETag"])
        assert again.status_code == 304
        # Read from the database each time: a change no cache heard of (update()
        # announces nothing) is in the very next answer.
        Step.objects.filter(pk=step_of(trail).pk).update(progress=40)
        moved = polled(api, device, first["ETag"])
    assert moved.status_code == 200 and moved.json()[0]["progress"]["progress"] == 40
