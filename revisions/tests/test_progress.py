"""Progress: the state machine of trail.status, enforced through the API, and what the
real devices send (each such test cites the upstream line it reproduces)."""

from __future__ import annotations

import threading

import pytest
from django.db import transaction

from portal.errors import DomainError
from revisions import services
from revisions.models import ProgressReport, Step
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
        expect_msg = "before" if current == new and current in st.FINAL else "now"
        assert step.status_msg == expect_msg
        assert answer.json()["status"] == new
    else:
        assert answer.status_code == 409, answer.json()
        assert answer.json()["code"] in ("final", "not-allowed")
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
    """The body Pantavisor sends (pantavisor update/update_progress.c ``_ser_progress``:
    status, status-msg, progress, retries, downloads.total, logs), plus the reference's
    ``log`` and ``data``; ``downloads`` comes back in the reference's shape
    (pantahub-base trails/trailmodels/trailmodels.go DownloadProgress)."""
    total = {"object_name": "total", "object_id": "none", "total_size": 10}
    total |= {"total_downloaded": 4, "start_time": 1700000000, "current_time": 1700000003}
    body = {
        "status": "DOWNLOADING",
        "progress": 42,
        "status-msg": "Downloading update artifacts, retry 1 of 10",
        "retries": 1,
        "logs": "update log line",
        "log": "line 1\nline 2",
        "downloads": {"total": total},
        "data": "2",
    }
    answer = put_progress(api, device, step, body)
    assert answer.status_code == 200
    expected = {**body, "downloads": {"total": total, "objects": None}}
    assert answer.json() == expected
    step.refresh_from_db()
    assert (step.progress, step.log, step.progress_data) == (42, "line 1\nline 2", "2")
    assert (step.retries, step.logs) == (1, "update log line")
    assert step.progress_time is not None
    shown = api.as_(device).get(f"/trails/{step.trail_id}/steps/{step.rev}").json()
    assert shown["progress"] == expected
    assert isinstance(shown["progress-time"], str)


def test_it_shows_downloads_with_the_reference_types_whatever_was_sent(api, device, step):
    """The mocker parses ``downloads.total`` into integers (pantavisor-mocker
    src/net/client.zig:8-16): counts are always there, and always numbers."""
    body = {"status": "DOWNLOADING", "downloads": {"total": {"total_size": "10"}, "x": 1}}
    body["downloads"]["objects"] = [{"object_name": "bsp/kernel.img", "total_size": 5}, "junk"]
    answer = put_progress(api, device, step, body).json()
    zero = {"total_size": 0, "start_time": 0, "current_time": 0, "total_downloaded": 0}
    assert answer["downloads"] == {
        "total": zero,
        "objects": [{**zero, "object_name": "bsp/kernel.img", "total_size": 5}, zero],
    }


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


def test_it_takes_a_final_report_with_null_fields(api, device, step):
    """A refused final report would leave the step pending for ever: nulls are empty."""
    body = {"status": "ERROR", "status-msg": None, "log": None, "logs": None, "downloads": None}
    answer = put_progress(api, device, step, body)
    assert answer.status_code == 200, answer.json()
    assert (answer.json()["status-msg"], answer.json()["downloads"]["objects"]) == ("", None)


def test_it_takes_progress_from_the_device_alone(api, owner, outsider, make_device, device, step):
    other = make_device(owner, nick="other")
    assert put_progress(api, owner, step, {"status": "QUEUED"}).status_code == 403
    assert put_progress(api, other, step, {"status": "QUEUED"}).status_code == 404
    assert put_progress(api, outsider, step, {"status": "QUEUED"}).status_code == 404
    assert put_progress(api, None, step, {"status": "QUEUED"}).status_code == 401
    step.refresh_from_db()
    assert step.status == st.NEW


def test_it_lets_only_the_owner_cancel(api, device, outsider, step):
    path = f"/trails/{step.trail_id}/steps/{step.rev}/cancel"
    assert api.as_(device).put(path).status_code == 403
    assert api.as_(outsider).put(path).status_code == 404
    step.refresh_from_db()
    assert step.status == st.NEW


def test_it_keeps_a_final_status_but_takes_an_error_after_done(api, device, step):
    """DONE, then the bootloader cannot commit it: ERROR (pantavisor update/update.c:888-893).
    A repeated DONE changes nothing; nothing makes the finished step pending again."""
    put_progress(api, device, step, {"status": "DONE", "progress": 100, "status-msg": "ok"})
    again = put_progress(api, device, step, {"status": "DONE", "progress": 3, "status-msg": "x"})
    assert again.status_code == 200
    assert again.json()["status-msg"] == "ok"
    refused = put_progress(api, device, step, {"status": "INPROGRESS"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "final"
    failed = put_progress(api, device, step, {"status": "ERROR", "status-msg": "Internal error"})
    assert failed.status_code == 200, failed.json()
    step.refresh_from_db()
    assert (step.status, step.status_msg) == (st.ERROR, "Internal error")


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
def test_it_checks_concurrent_reports_one_after_the_other(owner, make_device, trail_of):
    """Each report is checked against the status the one before it left (the row lock):
    the history is one chain from NEW, and nothing moves the step once DONE."""
    device = make_device(owner, nick="racer")
    trail = trail_of(device, {"#spec": SPEC})
    step = services.post_step(trail, {"#spec": SPEC, "a.json": 1}, author=owner)
    order = [st.QUEUED, st.DOWNLOADING, st.INPROGRESS, st.TESTING, st.DONE]
    moves: list[tuple[str, str]] = []
    lock = threading.Lock()

    def receiver(sender, step, previous, **kwargs):
        with lock:
            moves.append((previous, step.status))

    def report(status: str) -> list[int]:
        answers = []
        for _ in range(3):
            try:
                services.report_progress(Step.objects.get(pk=step.pk), status)
                answers.append(200)
            except DomainError as exc:  # a refused move; anything else fails the test
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
    history = [r.status for r in ProgressReport.objects.filter(step=step).order_by("id")]
    assert history[-1] == st.DONE and history.count(st.DONE) == 1
    # Every signalled move is a link of the one chain the history records.
    chain = [st.NEW, *history]
    links = [(a, b) for a, b in zip(chain, chain[1:], strict=False)]
    assert sorted(m for m in moves if m[0] != m[1]) == sorted(links)


# --- What real devices send -----------------------------------------------------------


def poll(api, device) -> list[dict]:
    answer = api.as_(device).get(f"/trails/{device.id}/steps")
    assert answer.status_code == 200
    return answer.json()


def report_all(api, device, step, reports: list[tuple[str, str]]) -> None:
    for status, msg in reports:
        answer = put_progress(api, device, step, {"status": status, "status-msg": msg})
        assert answer.status_code == 200, (status, answer.json())


def test_a_device_that_fails_a_download_does_not_block_the_next_revision(api, owner, device, step):
    """Pantavisor's sequence (pantavisor update/update.c:245-247 QUEUED on start_install,
    update/update_progress.c start_record QUEUED again, start_download DOWNLOADING, then
    update.c:416-420 ERROR from DOWNLOADING), which the old table refused with a 409 and
    left pending, so that the poll offered rev 1 for ever. Then the device re-sends its
    final progress from disk (update.c:233-237): still accepted, still not pending."""
    assert [s["rev"] for s in poll(api, device)] == [step.rev]
    report_all(
        api,
        device,
        step,
        [
            (st.QUEUED, "Retried 1 of 10"),
            (st.QUEUED, "Downloading update metadata, retry 1 of 10"),
            (st.DOWNLOADING, "Downloading update artifacts, retry 1 of 10"),
            (st.ERROR, "Internal error"),
            (st.ERROR, "Internal error"),  # from disk
        ],
    )
    trail = step.trail
    newer = services.post_step(trail, {"#spec": SPEC, "b.json": 2}, author=owner)
    assert [s["rev"] for s in poll(api, device)] == [newer.rev]
    step.refresh_from_db()
    assert step.status == st.ERROR


def test_a_mocker_with_a_bad_object_does_not_block_the_next_revision(api, owner, device, step):
    """The mocker reports ERROR from DOWNLOADING on a sha mismatch
    (pantavisor-mocker src/flows/update_flow.zig:312-315)."""
    report_all(
        api,
        device,
        step,
        [(st.QUEUED, "queued"), (st.DOWNLOADING, "downloading"), (st.ERROR, "Object validation")],
    )
    newer = services.post_step(step.trail, {"#spec": SPEC, "b.json": 2}, author=owner)
    assert [s["rev"] for s in poll(api, device)] == [newer.rev]


def test_it_follows_pantavisor_resuming_an_update_after_a_reboot(api, device, step):
    """A resumed update starts with QUEUED again (pantavisor update/update.c:245-247), the
    try-boot reports INPROGRESS "Trying new revision" (update.c:735-737), and a failed
    bootloader commit turns DONE into ERROR (update.c:888-893)."""
    report_all(
        api,
        device,
        step,
        [
            (st.QUEUED, "Retried 1 of 10"),
            (st.DOWNLOADING, "Downloading update artifacts, retry 1 of 10"),
            (st.QUEUED, "Retried 2 of 10"),  # the power went; resumed
            (st.DOWNLOADING, "Downloading update artifacts, retry 2 of 10"),
            (st.INPROGRESS, "Rebooting"),
            (st.INPROGRESS, "Trying new revision"),
            (st.TESTING, "Awaiting to set rollback point if update is stable"),
            (st.DONE, "Update finished, revision set as rollback point"),
            (st.ERROR, "Internal error"),
        ],
    )
    reports = list(step.reports.values_list("status", "status_msg"))
    assert [status for status, _ in reports] == [
        st.QUEUED,
        st.DOWNLOADING,
        st.QUEUED,
        st.DOWNLOADING,
        st.INPROGRESS,
        st.TESTING,
        st.DONE,
        st.ERROR,
    ]
    assert reports[4] == (st.INPROGRESS, "Trying new revision")  # one entry, its last word


def test_it_follows_the_mockers_reboot(api, device, step):
    """TESTING → INPROGRESS "Simulating reboot..." → DONE
    (pantavisor-mocker src/flows/update_flow.zig:349-351)."""
    report_all(
        api,
        device,
        step,
        [
            (st.QUEUED, "queued"),
            (st.DOWNLOADING, "downloading"),
            (st.INPROGRESS, "Update objects downloaded"),
            (st.TESTING, "Awaiting to see if update is stable"),
            (st.INPROGRESS, "Simulating reboot..."),
            (st.DONE, "Update finished, revision set as rollback point"),
        ],
    )
    step.refresh_from_db()
    assert step.status == st.DONE
    assert step.trail.running_step() == step


def test_the_running_revision_goes_back_when_done_turns_into_error(api, owner, device, step):
    """After a failed bootloader commit (pantavisor update/update.c:888-893) the device
    runs the revision it had: the newest DONE/UPDATED one is no longer the failed one."""
    report_all(api, device, step, [(st.DONE, "done")])
    assert step.trail.running_step() == step
    report_all(api, device, step, [(st.ERROR, "Internal error")])
    assert step.trail.running_step().rev == 0
    summary = api.as_(owner).get(f"/trails/{device.id}/summary").json()
    assert summary["running-revision"] == 0


def test_the_owner_can_unblock_a_device_silent_in_its_try_boot(api, owner, device, step):
    report_all(api, device, step, [(st.TESTING, "trying")])
    answer = api.as_(owner).put(f"/trails/{step.trail_id}/steps/{step.rev}/wontgo")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["status-msg"] == "marked WONTGO by the owner"
    newer = services.post_step(step.trail, {"#spec": SPEC, "b.json": 2}, author=owner)
    assert [s["rev"] for s in poll(api, device)] == [newer.rev]
    # The device comes back: its pending reports no longer count, how it ended does.
    assert put_progress(api, device, step, {"status": "TESTING"}).status_code == 409
    assert put_progress(api, device, step, {"status": "DONE"}).status_code == 200
    assert [s["rev"] for s in poll(api, device)] == [newer.rev]


# --- The history of reports ---------------------------------------------------------------


def test_it_keeps_one_entry_a_status_and_the_latest_progress_in_it(api, device, step):
    for pct in (0, 40, 80):
        put_progress(api, device, step, {"status": "DOWNLOADING", "progress": pct})
    put_progress(api, device, step, {"status": "INPROGRESS", "progress": 90})
    entries = list(step.reports.all())
    assert [(e.status, e.progress, e.count) for e in entries] == [
        (st.DOWNLOADING, 80, 3),
        (st.INPROGRESS, 90, 1),
    ]
    assert entries[0].time <= entries[0].last_time <= entries[1].time


def test_it_bounds_the_history_of_a_chatty_device(api, device, step):
    for n in range(ProgressReport.KEEP + 10):
        status = st.QUEUED if n % 2 else st.DOWNLOADING
        assert put_progress(api, device, step, {"status": status, "progress": n}).status_code == 200
    entries = list(step.reports.all())
    assert len(entries) == ProgressReport.KEEP
    assert entries[-1].progress == ProgressReport.KEEP + 9  # the newest are kept


def test_it_notes_the_owners_word_in_the_history(api, owner, step):
    api.as_(owner).put(f"/trails/{step.trail_id}/steps/{step.rev}/cancel")
    assert list(step.reports.values_list("status", "actor", "status_msg")) == [
        (st.CANCEL, "owner", "cancelled by the owner")
    ]


def test_it_shows_the_history_on_the_revision_page(client, api, owner, device, step):
    put_progress(api, device, step, {"status": "QUEUED", "status-msg": "Retried 1 of 10"})
    put_progress(api, device, step, {"status": "ERROR", "status-msg": "Object validation"})
    client.force_login(owner)
    page = client.get(f"/u/{owner.username}/{device.nick}/revisions/{step.rev}/")
    assert page.status_code == 200
    html = page.content.decode()
    history = html[html.index('class="list progress-history"') :]
    assert "Retried 1 of 10" in history
    assert history.index("Retried 1 of 10") < history.index("Object validation")


# --- After commit ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_it_announces_progress_only_once_the_report_is_committed(owner, make_device, trail_of):
    """A receiver (packs, live pages) reading from another connection finds the new status."""
    device = make_device(owner, nick="committed")
    trail = trail_of(device, {"#spec": SPEC})
    step = services.post_step(trail, {"#spec": SPEC, "a.json": 1}, author=owner)
    seen: list[tuple[str, str]] = []

    def elsewhere() -> str:  # a fresh connection sees only what is committed
        return Step.objects.get(pk=step.pk).status

    def receiver(sender, step, previous, **kwargs):
        seen.append((step.status, run_in_threads(elsewhere, [()])[0]))

    step_progressed.connect(receiver)
    try:
        with transaction.atomic():
            services.report_progress(step, st.QUEUED)
            assert seen == []  # not while the transaction is open
            assert run_in_threads(elsewhere, [()]) == [st.NEW]
        assert seen == [(st.QUEUED, st.QUEUED)]
    finally:
        step_progressed.disconnect(receiver)


# --- progress-time and the reference's fields ----------------------------------------------

# Every field of the reference's Step and StepProgress, with its JSON type
# (pantahub-base trails/trailmodels/trailmodels.go, Step and StepProgress).
STEP_FIELDS = {
    "id": str,
    "owner": str,
    "device": str,
    "committer": str,
    "trail-id": str,
    "rev": int,
    "commit-msg": str,
    "state": dict,
    "state-sha": str,
    "progress": dict,
    "step-time": str,
    "progress-time": str,
    "meta": dict,
    "used_objects": list,
    "mark_public_processed": bool,
    "garbage": bool,
    "time-created": str,
    "time-modified": str,
}
PROGRESS_FIELDS = {"progress": int, "downloads": dict, "status-msg": str, "status": str, "log": str}


def check_step(shown: dict) -> None:
    for name, kind in STEP_FIELDS.items():
        assert isinstance(shown.get(name), kind), (name, shown.get(name))
    for name, kind in PROGRESS_FIELDS.items():
        assert isinstance(shown["progress"].get(name), kind), (name, shown["progress"])
    assert isinstance(shown["progress"]["downloads"]["total"]["total_size"], int)


def test_a_new_step_has_a_progress_time_string_everywhere(api, owner, device, trail_of):
    """The mocker's Step has a non-optional ``progress-time`` string
    (pantavisor-mocker src/net/client.zig:45-61); the reference sets the epoch on a new
    step (pantahub-base trails/post-trail-steps.go:170)."""
    trail = trail_of(device, {"#spec": SPEC})
    body = {"rev": -1, "commit-msg": "new", "state": {"#spec": SPEC, "a.json": 1}}
    posted = api.as_(owner).post(f"/trails/{device.id}/steps", body, format="json").json()
    rev = posted["rev"]
    answers = {
        "post": posted,
        "list": api.as_(owner).get(f"/trails/{device.id}/steps").json()[0],
        "detail": api.as_(owner).get(f"/trails/{device.id}/steps/{rev}").json(),
        "poll": poll(api, device)[0],
        "device detail": api.as_(device).get(f"/trails/{device.id}/steps/{rev}").json(),
    }
    for where, shown in answers.items():
        assert shown["rev"] == rev, where
        assert shown["progress-time"] == "1970-01-01T00:00:00Z", where
        check_step(shown)
    assert Step.objects.get(trail=trail, rev=rev).progress_time is None


def test_the_summary_always_has_time_strings(api, owner, device, step):
    summary = api.as_(owner).get(f"/trails/{device.id}/summary").json()
    assert isinstance(summary["progress-time"], str)
    assert isinstance(summary["step-time"], str)


def test_it_lists_the_objects_a_step_uses(api, owner, device, step):
    shown = api.as_(owner).get(f"/trails/{device.id}/steps/{step.rev}").json()
    assert shown["used_objects"] == sorted(step.object_refs.values_list("sha256", flat=True))


# --- GET …/progress -----------------------------------------------------------------------


def test_it_answers_the_progress_of_a_step_to_whoever_sees_it(
    api, owner, outsider, device, make_device, step
):
    """The mocker's ``get_step_progress`` (pantavisor-mocker src/net/client.zig:692-731)
    parses status, progress, status-msg and logs as a number and strings."""
    put_progress(api, device, step, {"status": "QUEUED", "progress": 5, "status-msg": "q"})
    path = f"/trails/{device.id}/steps/{step.rev}/progress"
    for who in (device, owner):
        answer = api.as_(who).get(path)
        assert answer.status_code == 200
        shown = answer.json()
        assert (shown["status"], shown["progress"], shown["status-msg"]) == ("QUEUED", 5, "q")
        assert isinstance(shown["logs"], str)
    assert api.as_(outsider).get(path).status_code == 404
    assert api.as_(make_device(owner, nick="other")).get(path).status_code == 404
    assert api.as_(None).get(path).status_code in (401, 404)  # private: never shown
    device.public = True
    device.save()
    assert api.as_(None).get(path).json()["status"] == "QUEUED"


def test_the_trail_summary_follows_the_newest_revision_the_device_reported_on(
    api, owner, device, trail_of
):
    """``progress_revision``: the newest step that left NEW, else the newest step."""
    # kills: querysets.py:35 reported[:1] -> [:0] and steps[:1] -> [:0]
    trail = trail_of(device, {"#spec": "pantavisor-service-system@1", "a.json": 0})
    services.post_step(trail, {"#spec": "pantavisor-service-system@1", "a.json": 1}, author=owner)

    def progress_revision():
        return api.as_(owner).get("/trails/summary").json()[0]["progress-revision"]

    assert progress_revision() == 0  # the factory revision, reported; rev 1 is still NEW
    Step.objects.filter(trail=trail, rev=0).update(status=st.NEW)
    assert progress_revision() == 1  # nothing reported: the newest
    # Two reported, two running: on PostgreSQL a subquery of two rows is an error.
    # kills (PostgreSQL only; SQLite takes the first row): querysets.py:25 and :35 [:1] -> [:2]
    Step.objects.filter(trail=trail).update(status=st.DONE)
    summary = api.as_(owner).get("/trails/summary").json()[0]
    assert (summary["progress-revision"], summary["running-revision"]) == (1, 1)


def test_public_steps_are_those_of_public_devices(owner, make_device, trail_of):
    # kills: querysets.py:59 public=True -> False (StepQuerySet.public has no caller today)
    shown = make_device(owner, nick="shown", public=True)
    trail_of(shown)
    trail_of(make_device(owner, nick="hidden"))
    assert [s.trail.device.nick for s in Step.objects.public()] == ["shown"]
