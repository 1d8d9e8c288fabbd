"""Fixtures for the pack tests: eager tasks, committed actions, a leader and followers."""

from __future__ import annotations

import itertools
import logging

import pytest

from packs import services
from packs.tests.helpers import state
from revisions import services as revisions
from revisions.models import Step
from trail import status as st

_counter = itertools.count(1)


@pytest.fixture(autouse=True)
def _eager_tasks():
    """Run the pack tasks inline, whatever broker the environment names.

    With REDIS_URL set (CI's second pass) the Celery app is configured for a
    real broker; these tests check the services, so tasks run where they are queued.
    """
    from trailhub.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture(autouse=True)
def _no_swallowed_errors(caplog):
    """Fail a test whose pack task failed: services log such failures instead of raising
    (so that a device's report never fails for them), which would hide them here."""
    yield
    errors = [
        record
        for record in caplog.get_records("call")
        if record.name.startswith(("packs", "portal.queue")) and record.levelno >= logging.ERROR
    ]
    assert not errors, "\n".join(record.getMessage() for record in errors)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``committed(fn, *args)``: run ``fn`` and then what it queued for after commit
    (signals, tasks), as a real transaction would; returns what ``fn`` returned."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            result = fn(*args, **kwargs)
        return result

    return run


@pytest.fixture
def make_member(owner, make_device, committed):
    """``make_member(nick=None, owner=alice, hardware=True)``: a device with its factory revision."""

    def make(nick: str | None = None, who=None, hardware: bool = True):
        device = make_device(
            who or owner, nick=nick or f"dev-{next(_counter):03d}", has_hardware=hardware
        )
        committed(revisions.create_trail, device, state(0))
        return device

    return make


@pytest.fixture
def leader(make_member):
    """A leader without hardware: a revision posted to it goes out at once."""
    return make_member("leader", hardware=False)


@pytest.fixture
def make_pack(owner, committed):
    def make(leader, followers=(), nick: str = "fleet", **settings):
        pack = committed(services.create_pack, owner, nick=nick, leader=leader, **settings)
        for device in followers:
            committed(services.add_follower, pack, device)
        return pack

    return make


@pytest.fixture
def post(committed):
    """``post(device, version)``: post a new revision to ``device`` (as its owner would)."""

    def do(device, version, msg: str = "new release") -> Step:
        trail = device.trail if hasattr(device, "trail") else None
        from revisions.models import Trail

        trail = Trail.objects.select_related("device__owner").get(pk=device.id)
        return committed(
            revisions.post_step, trail, state(version), commit_msg=msg, author=device.owner
        )

    return do


@pytest.fixture
def report(committed):
    """``report(step, status)``: the device reports ``status`` for ``step``."""

    def do(step: Step, status: str) -> Step:
        if status in (st.ERROR,) and step.status == st.NEW:
            committed(revisions.report_progress, step, st.INPROGRESS)
        return committed(revisions.report_progress, step, status, progress=100)

    return do


@pytest.fixture
def pages(client, owner):
    """The owner's web session, as the test client (``browser`` is Playwright's)."""
    client.force_login(owner)
    return client


@pytest.fixture
def pack(make_pack, leader, make_member):
    """A pack of four followers: a canary of one, then waves of two."""
    return make_pack(
        leader, [make_member(f"f{i}") for i in range(4)], canary_share=0.25, wave_size=2
    )
