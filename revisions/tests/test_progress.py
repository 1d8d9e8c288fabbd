"""Progress: the state machine of trail.status, enforced through the API."""

from __future__ import annotations

import pytest
from rest_framework.exceptions import APIException

from revisions import services
from revisions.models import Step
from revisions.signals import step_progressed
from revisions.tests.conftest import run_in_threads
from trail import status as st

SPEC = "pantavisor-service-system@1"
PAIRS = [(current, new) for current in st.STATUSES for new in st.STATUSES]


@pytest.fixture
def step(owner, device, trail_of):
    trail = trail_of(device, {"#spec": SPEC})
    return services.post_step(trail, {"#spec": SPEC, "a.json": 1}, author=owner)


def put_progress(api, subject, step, body):
    path = f"/trails/{step.trail_id}/steps/{step.rev}/progress"
    return api.as_(subject).put(path, body, format="json")


def at(step, status: str) -> Step:
    Step.objects.filter(pk=step.pk).update(status=status, status_msg="before")
    step.refresh_from_db()
    return step


@pytest.mark.parametrize("current, new", PAIRS)
def test_it_follows_the_device_table(api, device, step, current, new):
    at(step, current)
    answer = put_progress(api, device, step, {"status": new, "progress": 50, "status-msg": "now"})
    step.refresh_from_db()
    if new in st.DEVICE_TRANSITIONS[current]:
        assert answer.status_code == 200, answer.json()
        assert step.status == new
        expect_msg = "before" if current in st.FINAL else "now"
        assert step.status_msg == expect_msg
        assert answer.json()["status"] == new
    else:
        assert answer.status_code == 409, answer.json()
        assert answer.json()["code"] in ("final", "backwards", "not-allowed")
        assert answer.json()["error"].startswith(f"cannot go from {current} to {new}")
        assert (step.status, step.status_msg) == (current, "before")


@pytest.mark.parametrize("current", st.STATUSES)
@pytest.mark.parametrize("action, target", [("cancel", st.CANCEL), ("wontgo", st.WONTGO)])
def test_it_follows_the_owner_table(api, owner, step, current, action, target):
    at(step, current)
    answer = api.as_(owner).put(f"/trails/{step.trail_id}/steps/{step.rev}/{action}")
    step.refresh_from_db()
    if target in st.OWNER_TRANSITIONS[current]:
        assert answer.status_code == 200, answer.json()
        assert step.status == target
        assert answer.json()["status"] == target
    else:
        assert answer.status_code == 409
        assert step.status == current


def test_it_keeps_every_progress_field(api, device, step):
    body = {
        "status": "DOWNLOADING",
        "progress": 42,
        "status-msg": "fetching",
        "log": "line 1\nline 2",
        "downloads": {"total": {"total_size": 10, "total_downloaded": 4}, "objects": []},
        "data": "2",
    }
    answer = put_progress(api, device, step, body)
    assert answer.status_code == 200
    assert answer.json() == body
    step.refresh_from_db()
    assert (step.progress, step.log, step.progress_data) == (42, "line 1\nline 2", "2")
    assert step.progress_time is not None
    shown = api.as_(device).get(f"/trails/{step.trail_id}/steps/{step.rev}").json()
    assert shown["progress"] == body
    assert shown["progress-time"]


@pytest.mark.parametrize(
    "body, code",
    [
        ({"status": "FINISHED"}, "unknown-status"),
        ({"progress": 10}, "required"),
        ({"status": "QUEUED", "progress": 101}, "max_value"),
        ({"status": "QUEUED", "progress": -1}, "min_value"),
        ({"status": "QUEUED", "downloads": [1]}, "not-object"),
        ({"status": "QUEUED", "log": "x" * 100_001}, "max_length"),
    ],
)
def test_it_refuses_a_bad_report(api, device, step, body, code):
    answer = put_progress(api, device, step, body)
    assert answer.status_code == 400
    assert answer.json()["code"] == code
    step.refresh_from_db()
    assert step.status == st.NEW


def test_it_takes_progress_from_the_device_alone(api, owner, outsider, make_device, device, step):
    other = make_device(owner, nick="other")
    assert put_progress(api, owner, step, {"status": "QUEUED"}).status_code == 403
    assert put_progress(api, other, step, {"status": "QUEUED"}).status_code == 404
    assert put_progress(api, outsider, step, {"status": "QUEUED"}).status_code == 404
    assert put_progress(api, None, step, {"status": "QUEUED"}).status_code == 404
    step.refresh_from_db()
    assert step.status == st.NEW


def test_it_lets_only_the_owner_cancel(api, device, outsider, step):
    path = f"/trails/{step.trail_id}/steps/{step.rev}/cancel"
    assert api.as_(device).put(path).status_code == 403
    assert api.as_(outsider).put(path).status_code == 404
    step.refresh_from_db()
    assert step.status == st.NEW


def test_it_keeps_a_final_status_final(api, device, step):
    put_progress(api, device, step, {"status": "DONE", "progress": 100, "status-msg": "ok"})
    again = put_progress(api, device, step, {"status": "DONE", "progress": 3, "status-msg": "x"})
    assert again.status_code == 200
    assert again.json()["status-msg"] == "ok"
    refused = put_progress(api, device, step, {"status": "ERROR"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "final"
    step.refresh_from_db()
    assert (step.status, step.progress) == (st.DONE, 100)


def test_it_announces_progress_after_commit(device, step, django_capture_on_commit_callbacks):
    seen = []

    def receiver(sender, step, previous, **kwargs):
        seen.append((previous, step.status))

    step_progressed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.report_progress(step, st.QUEUED)
            services.report_progress(step, st.QUEUED, progress=5)
        assert seen == [(st.NEW, st.QUEUED), (st.QUEUED, st.QUEUED)]
    finally:
        step_progressed.disconnect(receiver)


@pytest.mark.django_db(transaction=True)
def test_it_never_moves_backwards_under_concurrent_reports(owner, make_device, trail_of):
    device = make_device(owner, nick="racer")
    trail = trail_of(device, {"#spec": SPEC})
    step = services.post_step(trail, {"#spec": SPEC, "a.json": 1}, author=owner)
    order = [st.QUEUED, st.DOWNLOADING, st.INPROGRESS, st.TESTING, st.DONE]
    moves: list[tuple[str, str]] = []

    def receiver(sender, step, previous, **kwargs):
        moves.append((previous, step.status))

    def report(status: str) -> list[int]:
        answers = []
        for _ in range(3):
            try:
                services.report_progress(Step.objects.get(pk=step.pk), status)
                answers.append(200)
            except APIException as exc:  # a refused move; anything else fails the test
                answers.append(exc.status_code)
        return answers

    step_progressed.connect(receiver)
    try:
        answers = run_in_threads(report, [(s,) for s in reversed(order * 2)])
    finally:
        step_progressed.disconnect(receiver)
    assert {code for codes in answers for code in codes} <= {200, 409}
    step.refresh_from_db()
    assert step.status == st.DONE
    assert moves, "some reports went through"
    for previous, new in moves:
        assert st.STATUSES.index(new) >= st.STATUSES.index(previous), moves
