"""Steps: numbering, the device's poll, users' lists, detail, state and meta, summaries."""

from __future__ import annotations

import pytest

from revisions import services
from revisions.models import Step, StepObject, Trail
from revisions.signals import step_created
from trail import status as st

SPEC = "pantavisor-service-system@1"


def state(n: int = 0) -> dict:
    return {"#spec": SPEC, "app/config.json": {"n": n}}


@pytest.fixture
def trail(device, trail_of):
    return trail_of(device, state())


def post(api, subject, device, **body):
    body.setdefault("state", state(body.get("rev", 1)))
    return api.as_(subject).post(f"/trails/{device.id}/steps", body, format="json")


def add_steps(trail, owner, count: int) -> list[Step]:
    return [services.post_step(trail, state(i + 1), author=owner) for i in range(count)]


def test_it_posts_the_next_revision(api, owner, device, trail):
    answer = post(api, owner, device, rev=1, **{"commit-msg": "first"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["id"] == f"{device.id}-1"
    assert (body["rev"], body["trail-id"], body["commit-msg"]) == (1, device.id, "first")
    assert body["owner"] == owner.prn and body["device"] == device.prn
    assert body["committer"] == owner.prn
    assert body["progress"]["status"] == "NEW"
    assert Trail.objects.get(pk=device.id).head_rev == 1


def test_it_appends_with_rev_minus_one_or_none(api, owner, device, trail):
    assert post(api, owner, device, rev=-1).json()["rev"] == 1
    assert post(api, owner, device, state=state(5)).json()["rev"] == 2


def test_it_refuses_a_rev_that_exists(api, owner, device, trail):
    answer = post(api, owner, device, rev=0)
    assert answer.status_code == 409
    assert answer.json()["code"] == "rev-exists"
    assert answer.json()["next_rev"] == 1
    assert Step.objects.filter(trail=trail).count() == 1


def test_it_refuses_a_rev_that_skips(api, owner, device, trail):
    answer = post(api, owner, device, rev=3)
    assert answer.status_code == 400
    assert answer.json()["code"] == "rev-skips"
    assert "the next revision is 1" in answer.json()["error"]
    assert Trail.objects.get(pk=device.id).head_rev == 0


def test_it_answers_with_and_without_a_trailing_slash(api, owner, device, trail):
    answer = api.as_(owner).post(f"/trails/{device.id}/steps/", {"state": state(1)}, format="json")
    assert answer.status_code == 200
    assert api.as_(owner).get(f"/trails/{device.id}/steps/1/").status_code == 200
    assert api.as_(owner).get(f"/trails/{device.id}/steps/1").status_code == 200


def test_it_finds_a_trail_by_its_owners_nick_for_it(api, owner, outsider, device, trail):
    assert api.as_(owner).get("/trails/kiosk").json()["id"] == device.id
    assert api.as_(outsider).get("/trails/kiosk").status_code == 404


def test_it_shows_a_device_its_oldest_pending_step(api, owner, device, trail):
    one, two, _ = add_steps(trail, owner, 3)
    services.report_progress(one, st.DONE)
    polled = api.as_(device).get(f"/trails/{device.id}/steps")
    assert [s["rev"] for s in polled.json()] == [2]
    services.report_progress(two, st.DOWNLOADING)
    assert [s["rev"] for s in api.as_(device).get(f"/trails/{device.id}/steps").json()] == [2]


def test_it_shows_a_device_nothing_when_all_is_done(api, device, trail):
    assert api.as_(device).get(f"/trails/{device.id}/steps").json() == []


def test_it_filters_a_devices_poll_by_status(api, owner, device, trail):
    one, two = add_steps(trail, owner, 2)
    services.report_progress(one, st.QUEUED)
    path = f"/trails/{device.id}/steps?progress.status="
    assert [s["rev"] for s in api.as_(device).get(path + "NEW").json()] == [2]
    assert [s["rev"] for s in api.as_(device).get(path + '{"$in": ["DONE"]}').json()] == [0]


def test_it_shows_a_user_the_unfinished_steps(api, owner, device, trail):
    one, two, three = add_steps(trail, owner, 3)
    services.report_progress(one, st.DONE)
    services.cancel_step(three)
    answer = api.as_(owner).get(f"/trails/{device.id}/steps")
    assert [s["rev"] for s in answer.json()] == [2]


@pytest.mark.parametrize(
    "query, revs",
    [
        ("progress.status=DONE", [0, 1]),
        ('progress.status={"$in": ["NEW", "CANCEL"]}', [2, 3]),
        ('progress.status={"$nin": ["DONE"]}', [2, 3]),
        ('progress.status={"$ne": "NEW"}', [0, 1, 3]),
        ("limit=1", [2]),
        ("after=2", []),
        ('progress.status={"$nin": []}&after=1', [2, 3]),
        ("progress.status=DONE&limit=1&after=0", [1]),
    ],
)
def test_it_filters_and_pages_a_users_list(api, owner, device, trail, query, revs):
    one, _, three = add_steps(trail, owner, 3)
    services.report_progress(one, st.DONE)
    services.cancel_step(three)
    answer = api.as_(owner).get(f"/trails/{device.id}/steps?{query}")
    assert [s["rev"] for s in answer.json()] == revs


@pytest.mark.parametrize(
    "query",
    [
        "progress.status=FINISHED",
        'progress.status={"$in": ["NEW", "NOPE"]}',
        'progress.status={"$gt": "NEW"}',
        "progress.status={not json",
        "limit=0",
        "limit=abc",
        "after=x",
    ],
)
def test_it_refuses_a_bad_filter(api, owner, device, trail, query):
    answer = api.as_(owner).get(f"/trails/{device.id}/steps?{query}")
    assert answer.status_code == 400
    assert answer.json()["error"]


def test_it_polls_in_two_queries(api, owner, device, trail, django_assert_num_queries):
    add_steps(trail, owner, 5)
    client = api.as_(device)
    client.get(f"/trails/{device.id}/steps")  # the first request records last_seen
    services.set_meta(Step.objects.get(trail=trail, rev=1), {})  # a change: no cached answer
    with django_assert_num_queries(2):  # the device (from its token), its oldest pending step
        answer = client.get(f"/trails/{device.id}/steps")
    assert [s["rev"] for s in answer.json()] == [1]
    with django_assert_num_queries(0):  # nothing changed since: from the cache (test_poll_cache)
        assert client.get(f"/trails/{device.id}/steps").content == answer.content


def test_it_lists_a_users_steps_in_three_queries(
    api, owner, device, trail, django_assert_num_queries
):
    add_steps(trail, owner, 20)
    client = api.as_(owner)
    with django_assert_num_queries(3):  # the account, the device with its trail, the steps
        answer = client.get(f"/trails/{device.id}/steps")
    assert len(answer.json()) == 20


def test_it_lists_trails_in_three_queries(
    api, owner, make_device, trail_of, django_assert_num_queries
):
    for i in range(5):
        trail_of(make_device(owner, nick=f"d{i}"), state(i))
    client = api.as_(owner)
    with django_assert_num_queries(3):  # the account, the trails with devices, the factory steps
        answer = client.get("/trails/")
    assert len(answer.json()) == 5
    assert all(t["factory-state"]["#spec"] == SPEC for t in answer.json())


def test_it_lists_a_device_its_own_trail(api, owner, device, trail, make_device, trail_of):
    trail_of(make_device(owner, nick="other"), state())
    answer = api.as_(device).get("/trails/")
    assert [t["id"] for t in answer.json()] == [device.id]


def test_it_shows_a_step_its_state_and_meta(api, owner, device, trail):
    services.post_step(trail, state(7), meta={"note": "hi"}, author=owner)
    base = f"/trails/{device.id}/steps/1"
    assert api.as_(owner).get(base).json()["meta"] == {"note": "hi"}
    assert api.as_(owner).get(f"{base}/state").json() == state(7)
    assert api.as_(owner).get(f"{base}/meta").json() == {"note": "hi"}
    assert api.as_(owner).get(f"/trails/{device.id}/steps/9").status_code == 404
    assert api.as_(owner).get(f"/trails/{device.id}/steps/x").status_code == 404


def test_it_lets_the_owner_replace_meta(api, owner, device, trail):
    answer = api.as_(owner).put(f"/trails/{device.id}/steps/0/meta", {"a": 1}, format="json")
    assert answer.status_code == 200 and answer.json() == {"a": 1}
    assert Step.objects.get(trail=trail, rev=0).meta == {"a": 1}
    refused = api.as_(owner).put(f"/trails/{device.id}/steps/0/meta", [1], format="json")
    assert refused.status_code == 400
    assert (
        api.as_(device).put(f"/trails/{device.id}/steps/0/meta", {}, format="json").status_code
        == 403
    )


def test_it_replaces_the_state_of_a_new_step_only(api, owner, device, trail):
    step = services.post_step(trail, state(1), author=owner)
    path = f"/trails/{device.id}/steps/1/state"
    answer = api.as_(owner).put(path, state(2), format="json")
    assert answer.status_code == 200
    step.refresh_from_db()
    assert step.state == state(2)
    assert step.state_sha == services.validated_state_sha(state(2))
    services.report_progress(step, st.QUEUED)
    refused = api.as_(owner).put(path, state(3), format="json")
    assert refused.status_code == 409
    assert refused.json()["code"] == "not-new"
    step.refresh_from_db()
    assert step.state == state(2)


def test_replacing_a_state_reindexes_its_objects(api, owner, device, trail, give_objects):
    """The object index is what garbage collection, the "in use" check and public
    linking read. Kills the mutant that keeps the old index (tests.md M5)."""
    old, new = "a" * 64, "b" * 64
    give_objects(owner, [old, new])
    step = services.post_step(trail, {"#spec": SPEC, "k.img": old}, author=owner)
    answer = api.as_(owner).put(
        f"/trails/{device.id}/steps/{step.rev}/state", {"#spec": SPEC, "k.img": new}, format="json"
    )
    assert answer.status_code == 200, answer.content
    assert list(StepObject.objects.filter(step=step).values_list("sha256", flat=True)) == [new]
    assert api.as_(owner).delete(f"/objects/{new}").status_code == 409  # in use
    assert api.as_(owner).delete(f"/objects/{old}").status_code == 200  # no longer


def test_it_checks_objects_when_replacing_a_state(api, owner, device, trail):
    services.post_step(trail, state(1), author=owner)
    bad = {"#spec": SPEC, "bsp/kernel.img": "c" * 64}
    answer = api.as_(owner).put(f"/trails/{device.id}/steps/1/state", bad, format="json")
    assert answer.status_code == 409
    assert answer.json()["missing"] == ["c" * 64]


def test_it_summarises_trails(api, owner, device, trail):
    one, two = add_steps(trail, owner, 2)
    services.report_progress(one, st.DONE)
    services.report_progress(two, st.DOWNLOADING, progress=40)
    (summary,) = api.as_(owner).get("/trails/summary").json()
    assert summary["deviceid"] == device.id and summary["device-nick"] == "kiosk"
    assert (summary["revision"], summary["running-revision"]) == (2, 1)
    assert (summary["progress-revision"], summary["status"], summary["progress"]) == (
        2,
        "DOWNLOADING",
        40,
    )
    assert summary["state-sha"] == two.state_sha
    one_trail = api.as_(owner).get(f"/trails/{device.id}/summary").json()
    assert one_trail == summary


def test_it_knows_the_running_revision(owner, device, trail):
    one, two, three = add_steps(trail, owner, 3)
    assert trail.running_step().rev == 0
    services.report_progress(one, st.DONE)
    services.report_progress(two, st.UPDATED)
    services.report_progress(three, st.INPROGRESS)
    services.report_progress(three, st.ERROR)
    assert trail.running_step().rev == 2
    assert Trail.objects.with_running_rev().get(pk=trail.pk).running_rev == 2


def test_it_announces_a_new_step_after_commit(
    owner, device, trail, django_capture_on_commit_callbacks
):
    seen = []

    def receiver(sender, step, **kwargs):
        seen.append(step.rev)

    step_created.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            services.post_step(trail, state(1), author=owner)
        assert seen == []
        for callback in callbacks:
            callback()
        assert seen == [1]
    finally:
        step_created.disconnect(receiver)


def test_it_needs_a_claimed_device_to_post(owner, make_device, trail_of):
    lonely = make_device(None)
    trail = trail_of(lonely, state())
    with pytest.raises(Exception) as refused:
        services.post_step(trail, state(1))
    assert refused.value.code == "unclaimed"
