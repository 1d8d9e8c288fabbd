"""The no-worker warning: on the dashboard, the pack pages, the admin and `check --deploy`.

Heartbeats are written here as a worker writes them (``workers.beat``);
test_worker_heartbeat.py has a real worker write them.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command

from packs import services as packs
from packs.tests.helpers import state
from revisions import services as revisions
from testsupport.live import free_port
from trailhub import workers

WARNING_HTML = (
    "no task worker is running: packs will not propagate — start one with <code>make worker</code>"
)


@pytest.fixture
def pack(owner, make_device):
    leader = make_device(owner, nick="leader", has_hardware=False)
    revisions.create_trail(leader, state(0))
    return packs.create_pack(owner, nick="fleet", leader=leader)


@pytest.fixture
def pages(client, owner, pack):
    client.force_login(owner)
    return ["/dashboard/", "/dashboard/packs/", f"/dashboard/packs/{pack.id}/"]


def check_deploy() -> str:
    out = StringIO()
    call_command("check", "--deploy", "--tag", "workers", stdout=out, stderr=out)
    return out.getvalue()


def test_it_warns_on_the_dashboard_and_pack_pages_when_no_worker_is_seen(
    client, pages, broker_configured
):
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert WARNING_HTML in response.content.decode(), url


def test_it_warns_when_the_last_heartbeat_is_too_old(client, pages, broker_configured, settings):
    settings.WORKER_HEARTBEAT_TIMEOUT = 30
    workers.beat("celery@gone")
    heartbeat = cache.get(workers.HEARTBEAT_KEY)
    cache.set(workers.HEARTBEAT_KEY, {**heartbeat, "at": heartbeat["at"] - 31})
    assert WARNING_HTML in client.get(pages[0]).content.decode()
    assert "The last heartbeat came 31 s ago from celery@gone." in check_deploy()


def test_it_says_nothing_while_a_worker_beats(client, pages, broker_configured):
    workers.beat("celery@here")
    for url in pages:
        content = client.get(url).content.decode()
        assert "data-worker-warning" not in content, url
    assert "portal.W001" not in check_deploy()


def test_it_never_warns_when_tasks_run_inline(client, pages):
    """The embedded default: eager Celery, no worker expected (whatever the cache holds)."""
    from trailhub.celery import app

    before, app.conf.task_always_eager = app.conf.task_always_eager, True
    try:
        for url in pages:
            assert "data-worker-warning" not in client.get(url).content.decode(), url
        assert "portal.W001" not in check_deploy()
    finally:
        app.conf.task_always_eager = before


def test_it_warns_on_the_admin_to_staff_only(client, make_user, broker_configured):
    assert "data-worker-warning" not in client.get("/admin/login/").content.decode()
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    response = client.get("/admin/")
    assert response.status_code == 200
    content = response.content.decode()
    assert WARNING_HTML in content
    assert 'id="site-name"' in content  # still Django's admin header


def test_the_deploy_check_warns_at_start_with_the_make_worker_hint(broker_configured):
    output = check_deploy()
    assert "portal.W001" in output
    assert workers.MISSING in output
    assert "No task worker has ever sent a heartbeat." in output


def test_it_warns_when_the_heartbeat_cannot_be_read(client, pages, broker_configured, monkeypatch):
    """The cache is the broker's Redis: when it is away, nothing propagates either."""
    from trailhub.cache import RedisCache

    monkeypatch.setattr(workers, "cache", RedisCache(f"redis://127.0.0.1:{free_port()}/0", {}))
    response = client.get(pages[1])
    assert response.status_code == 200
    assert WARNING_HTML in response.content.decode()
