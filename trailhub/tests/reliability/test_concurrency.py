"""Concurrent requests through the whole API stack, each thread on its own connection.

revisions/tests/test_concurrency.py and test_progress.py race the services;
these race the HTTP API as clients do, at the numbers the issue names.
"""

from __future__ import annotations

import threading

import pytest
from rest_framework.test import APIClient

from portal.auth import issue_token
from revisions.models import ProgressReport, Step, Trail
from revisions.signals import step_progressed
from revisions.tests.conftest import run_in_threads
from trail import status as st
from trailhub.tests.reliability.conftest import SPEC

pytestmark = pytest.mark.django_db(transaction=True)

POSTERS = 50
MAIN_LINE = [st.QUEUED, st.DOWNLOADING, st.INPROGRESS, st.TESTING, st.DONE]


def client_for(subject) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(subject)}")
    return client


def test_fifty_concurrent_posts_get_fifty_consecutive_revisions(world):
    owner, target = world.actors["owner"], world.target
    head = Trail.objects.get(pk=target.pk).head_rev
    clients = [client_for(owner) for _ in range(POSTERS)]

    def post(n: int) -> tuple[int, int]:
        body = {"rev": -1, "commit-msg": f"poster {n}", "state": {"#spec": SPEC, "n.json": n}}
        answer = clients[n].post(f"/trails/{target.id}/steps", body, format="json")
        return answer.status_code, answer.json().get("rev")

    answers = run_in_threads(post, [(n,) for n in range(POSTERS)])

    assert {code for code, _ in answers} == {200}
    revs = sorted(rev for _, rev in answers)
    assert revs == list(range(head + 1, head + 1 + POSTERS))
    stored = Step.objects.filter(trail_id=target.id, rev__gt=head).order_by("rev")
    # Each poster's state is stored under the number it was answered.
    by_rev = {rev: n for n, (_, rev) in enumerate(answers)}
    assert [(s.rev, s.state["n.json"]) for s in stored] == sorted(by_rev.items())
    assert Trail.objects.get(pk=target.pk).head_rev == head + POSTERS


def test_concurrent_progress_reports_are_checked_one_after_the_other(world):
    """A device may go back (QUEUED on a resumed update), so the order is not the line's:
    each report is checked against the status the one before it left (the row lock), so
    the history is one chain from NEW and nothing moves the step once it is DONE."""
    device = world.actors["device"]
    path = f"/trails/{world.target.id}/steps/{world.ids['rev']}/progress"
    moves: list[tuple[str, str]] = []
    lock = threading.Lock()

    def moved(sender, step, previous, **kwargs):
        with lock:
            moves.append((previous, step.status))

    # Every status of the main line, each reported by several devices' retries at once,
    # latest first: once DONE lands, every later report must be refused.
    reports = [(status, pct) for status in reversed(MAIN_LINE) for pct in (10, 60, 90)] * 2
    clients = [client_for(device) for _ in reports]

    def report(i: int, status: str, pct: int) -> int:
        body = {"status": status, "progress": pct, "status-msg": f"{status} {pct}%"}
        return clients[i].put(path, body, format="json").status_code

    step_progressed.connect(moved)
    try:
        codes = run_in_threads(report, [(i, s, p) for i, (s, p) in enumerate(reports)])
    finally:
        step_progressed.disconnect(moved)

    assert set(codes) <= {200, 409}
    assert moves, "some reports went through"
    step = Step.objects.get(trail_id=world.target.id, rev=int(world.ids["rev"]))
    history = list(ProgressReport.objects.filter(step=step).values_list("status", flat=True))
    assert history[-1] == st.DONE and history.count(st.DONE) == 1
    chain = [st.NEW, *history]
    links = sorted(zip(chain, chain[1:], strict=False))
    assert sorted(m for m in moves if m[0] != m[1]) == links
    step = Step.objects.get(trail_id=world.target.id, rev=int(world.ids["rev"]))
    assert step.status == st.DONE  # DONE was reported, and nothing after it moved it
