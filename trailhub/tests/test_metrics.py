"""``GET /metrics``: who may scrape it, and that what it says matches what happened."""

from __future__ import annotations

import hashlib
import secrets

import pytest
from django.test import Client

from devices.models import Device
from portal.queue import enqueue
from revisions import services
from revisions.models import Step
from trail import status as st
from trailhub.celery import app as celery_app
from trailhub.metrics import middleware
from trailhub.tests.metrics_helpers import TOKEN, moved, samples, scrape, value

SPEC = "pantavisor-service-system@1"
PENDING_QUERY = '?progress.status={"$in":["NEW","QUEUED","DOWNLOADING","INPROGRESS","TESTING"]}'


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOW = []
    return TOKEN


def test_it_is_off_when_neither_setting_is_set(client, settings, db):
    settings.METRICS_TOKEN, settings.METRICS_ALLOW = "", []
    answer = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert answer.status_code == 404


def test_it_refuses_a_scrape_without_the_token(client, token, db):
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-token-but-not-this-one")
    assert wrong.status_code == 401 and wrong["WWW-Authenticate"].startswith("Bearer")
    right = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert right.status_code == 200
    assert right["Content-Type"].startswith("text/plain; version=")
    assert "trailhub_http_requests_total" in right.content.decode()


def test_it_serves_only_the_allowed_addresses(settings, db):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOW = settings_networks("127.0.0.1", "10.1.0.0/16")
    assert Client(REMOTE_ADDR="10.2.0.7").get("/metrics").status_code == 403
    assert Client(REMOTE_ADDR="10.1.3.4").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200


def test_it_needs_both_when_both_are_set(settings, db):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOW = settings_networks("10.1.0.0/16")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    assert Client(REMOTE_ADDR="10.9.9.9").get("/metrics", **bearer).status_code == 403
    assert Client(REMOTE_ADDR="10.1.0.1").get("/metrics").status_code == 401
    assert Client(REMOTE_ADDR="10.1.0.1").get("/metrics", **bearer).status_code == 200


def settings_networks(*items: str) -> list:
    import ipaddress

    return [ipaddress.ip_network(item, strict=False) for item in items]


def upload(api, owner, data: bytes) -> dict:
    sha = hashlib.sha256(data).hexdigest()
    body = {"objectname": "bsp/kernel.img", "size": str(len(data)), "sha256sum": sha}
    answer = api.as_(owner).post("/objects/", body, format="json")
    assert answer.status_code == 200, answer.content
    put = api.generic("PUT", answer.json()["signed-puturl"], data, "application/octet-stream")
    assert put.status_code == 200, put.content
    return answer.json()


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_counters_move_by_exactly_what_happened(api, client, token, owner, device):
    services.create_trail(device, {"#spec": SPEC})
    services.post_step(device.trail, {"#spec": SPEC, "a.json": 1}, author=owner)
    before = scrape(client)

    data = secrets.token_bytes(3000)
    sha = upload(api, owner, data)["sha256sum"]
    geturl = api.as_(device).get(f"/objects/{sha}").json()["signed-geturl"]
    download = api.as_(None).get(geturl)
    assert download.status_code == 200, download.content
    assert body_of(download) == data
    part = api.get(geturl, HTTP_RANGE="bytes=1000-1499")
    assert part.status_code == 206
    for path in ("steps", "steps", "steps/", "steps", "steps" + PENDING_QUERY):
        assert api.as_(device).get(f"/trails/{device.id}/{path}").status_code == 200
    assert api.as_(owner).get(f"/objects/{'0' * 64}").status_code == 404

    after = scrape(client)
    requests = {
        (key[1], delta) for key, delta in moved(before, after).items()
        if key[0] == "trailhub_http_requests_total"
    }  # fmt: skip
    assert requests == {
        (frozenset({"route": "metrics", "method": "GET", "status": "200"}.items()), 1),
        (frozenset({"route": "api-objects", "method": "POST", "status": "200"}.items()), 1),
        (frozenset({"route": "local-s3", "method": "PUT", "status": "200"}.items()), 1),
        (frozenset({"route": "local-s3", "method": "GET", "status": "200"}.items()), 1),
        (frozenset({"route": "local-s3", "method": "GET", "status": "206"}.items()), 1),
        (frozenset({"route": "api-steps", "method": "GET", "status": "200"}.items()), 5),
        (frozenset({"route": "api-object", "method": "GET", "status": "200"}.items()), 1),
        (frozenset({"route": "api-object", "method": "GET", "status": "404"}.items()), 1),
    }
    polls = {
        source: value(after, "trailhub_device_polls_total", source=source)
        - value(before, "trailhub_device_polls_total", source=source)
        for source in ("memory", "cache", "database")
    }
    # The first poll reads the database; the rest, Pantavisor's filtered one too (it asks
    # for exactly the pending statuses: revisions.api.poll.device_query), are answered
    # from the cache (with Redis, from this process's memory once it kept them).
    assert polls["database"] == 1 and polls["memory"] + polls["cache"] == 4
    assert value(after, "trailhub_object_bytes_total", direction="in") - value(
        before, "trailhub_object_bytes_total", direction="in"
    ) == len(data)
    assert (
        value(after, "trailhub_object_bytes_total", direction="out")
        - value(before, "trailhub_object_bytes_total", direction="out")
        == len(data) + 500
    )


def test_labels_are_pattern_names_never_paths(api, client, token, owner, device):
    services.create_trail(device, {"#spec": SPEC})
    api.as_(device).get(f"/trails/{device.id}/steps/")
    api.as_(owner).get(f"/devices/{device.id}")
    api.as_(owner).get(f"/trails/{device.id}/steps/0/state")
    client.get(f"/no/such/{device.id}/page")
    client.get(f"/metrics/{device.id}")
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}").content.decode()
    assert device.id not in text
    routes = {dict(key[1]).get("route") for key in samples(text)} - {None}
    # A label is a pattern's name, or (an unnamed pattern, such as the admin's catch-all
    # that other tests in this process may have reached) the pattern itself.
    assert all("/" not in route or "<" in route or "(?P" in route for route in routes), routes
    assert {"api-steps", "api-device", "api-step-state", middleware.UNMATCHED} <= routes


def _split(key):
    return key[0], dict(key[1])


def test_an_unknown_method_counts_as_other(client, token, db):
    client.generic("BREW", "/metrics")
    after = scrape(client)
    assert (
        value(after, "trailhub_http_requests_total", route="metrics", method="other", status="405")
        == 1
    )


def test_the_gauges_match_the_database(api, client, token, owner, device, make_device):
    services.create_trail(device, {"#spec": SPEC})
    step = services.post_step(device.trail, {"#spec": SPEC, "a.json": 1}, author=owner)
    services.report_progress(step, st.DOWNLOADING, progress=10)
    make_device(owner, nick="never-seen")
    stale = make_device(owner, nick="long-gone")
    Device.objects.filter(pk=stale.pk).update(last_seen="2001-01-01T00:00:00Z")
    api.as_(device).get(f"/trails/{device.id}/steps")  # the device is seen now

    scraped = scrape(client)
    assert value(scraped, "trailhub_devices_online") == 1 == Device.objects.online().count()
    for status in st.STATUSES:
        expected = Step.objects.filter(status=status).count()
        assert value(scraped, "trailhub_revisions", status=status) == expected
    assert value(scraped, "trailhub_revisions", status=st.DONE) == 1
    assert value(scraped, "trailhub_revisions", status=st.DOWNLOADING) == 1


@celery_app.task(name="trailhub.tests.test_metrics.explode")
def explode(reason: str) -> None:
    raise RuntimeError(reason)


@pytest.fixture
def eager_tasks():
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


def test_a_task_failure_counts(client, token, db, eager_tasks):
    before = value(scrape(client), "trailhub_task_failures_total")
    # As in a worker: the error is kept in the result, Celery sends task_failure.
    assert explode.apply(args=("on purpose",), throw=False).failed()
    # Embedded, queued tasks run inline and their error reaches enqueue().
    assert enqueue(explode, "inline") is False
    assert value(scrape(client), "trailhub_task_failures_total") == before + 2


@pytest.mark.django_db(transaction=True)
async def test_open_websockets_are_a_gauge(device):
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator
    from django.db import connections
    from prometheus_client import REGISTRY

    from portal.auth import issue_token
    from trailhub.asgi import application

    def open_sockets() -> float:
        labels = {"consumer": "AgentConsumer"}
        return REGISTRY.get_sample_value("trailhub_websocket_connections", labels) or 0

    before = open_sockets()
    headers = [(b"authorization", f"Bearer {issue_token(device)}".encode())]
    communicator = WebsocketCommunicator(application, "/ws/device/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected and open_sockets() == before + 1
    await communicator.disconnect()
    assert open_sockets() == before
    await database_sync_to_async(connections.close_all)()


@pytest.mark.filterwarnings("ignore:task_always_eager has no effect")
def test_the_queue_length_is_the_brokers(settings, client, token, db, redis_db):
    import redis

    url = settings.REDIS_URL or redis_db
    queue = f"metrics-test-{secrets.token_hex(4)}"
    settings.CELERY_BROKER_URL, settings.CELERY_TASK_DEFAULT_QUEUE = url, queue
    with celery_app.connection_for_write(url) as connection:
        for priority in (None, None, 6):
            celery_app.send_task("nothing", queue=queue, connection=connection, priority=priority)
    try:
        assert value(scrape(client), "trailhub_task_queue_length") == 3
    finally:
        redis.Redis.from_url(url).delete(queue, f"{queue}\x06\x166")


def test_the_worker_heartbeat_age_is_exposed_with_a_broker(client, token, db):
    from trailhub import workers

    before = celery_app.conf.task_always_eager
    try:
        celery_app.conf.task_always_eager = True  # tasks inline: no worker to expect
        inline = scrape(client)
        celery_app.conf.task_always_eager = False  # a broker: a worker is expected
        never = value(scrape(client), "trailhub_worker_heartbeat_age_seconds")
        workers.beat("worker@test")
        fresh = value(scrape(client), "trailhub_worker_heartbeat_age_seconds")
    finally:
        celery_app.conf.task_always_eager = before
    assert not any(name == "trailhub_worker_heartbeat_age_seconds" for name, _ in inline)
    assert never == float("inf") and 0 <= fresh < 5
