"""Events become signed deliveries to a real receiver, retried and recorded."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pytest
from django.utils import timezone

from devices import presence
from devices.models import Device
from revisions import services as revisions
from revisions.models import Trail
from trail import status as st
from webhooks import services
from webhooks.models import Delivery
from webhooks.tests.helpers import events_of, state

pytestmark = pytest.mark.django_db


def retry_due(committed, times: int = 1) -> None:
    """Run the sweep as if each retry's wait had passed: without a broker (as in the tests)
    the next attempt is the sweep's to queue, not the failed attempt's own task."""
    for _ in range(times):
        later = max(Delivery.objects.values_list("next_attempt", flat=True), default=None)
        committed(
            services.sweep, (later or timezone.now()) + services.STALE + dt.timedelta(seconds=1)
        )


def post(committed, trail: Trail, version: int = 1):
    trail = Trail.objects.select_related("device__owner").get(pk=trail.pk)
    return committed(revisions.post_step, trail, state(version), author=trail.device.owner)


def test_it_signs_the_exact_body_with_the_secret(receiver, make_hook, trail, committed):
    hook = make_hook(receiver.url, secret="correct horse battery")

    post(committed, trail)

    (request,) = receiver.requests
    expected = hmac.new(b"correct horse battery", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Trailhub-Signature-256"] == f"sha256={expected}"
    assert request.headers["X-Trailhub-Event"] == "revision.status"
    delivery = hook.deliveries.get()
    assert request.headers["X-Trailhub-Delivery"] == str(delivery.id)
    wrong = hmac.new(b"another secret", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Trailhub-Signature-256"] != f"sha256={wrong}"


def test_it_delivers_one_post_for_a_status_change(receiver, make_hook, trail, committed):
    make_hook(receiver.url, events=["revision.status"])
    step = post(committed, trail)
    receiver.requests.clear()

    committed(revisions.report_progress, step, st.INPROGRESS, progress=10)

    (request,) = receiver.requests
    body = json.loads(request.body)
    assert set(body) == {"event", "time", "data"}
    assert body["event"] == "revision.status"
    assert body["data"]["device"] == trail.pk
    assert body["data"]["rev"] == step.rev
    assert (body["data"]["status"], body["data"]["previous"]) == (st.INPROGRESS, st.NEW)


def test_it_retries_a_receiver_that_answered_500_and_records_each_attempt(
    receiver, make_hook, trail, committed
):
    hook = make_hook(receiver.url)
    receiver.answers = [500]

    post(committed, trail)
    assert len(receiver.requests) == 1  # the next attempt waits, even without a broker
    retry_due(committed)

    assert len(receiver.requests) == 2
    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["X-Trailhub-Delivery"] == second.headers["X-Trailhub-Delivery"]
    delivery = hook.deliveries.get()
    assert delivery.status == Delivery.DELIVERED
    failed, ok = delivery.attempt_set.all()
    assert (failed.ok, failed.code, failed.error) == (False, 500, "the receiver answered 500")
    assert failed.excerpt == "Internal trouble"
    assert (ok.ok, ok.code, ok.excerpt, ok.error) == (True, 200, "ok", "")


def test_it_gives_up_after_the_last_attempt(receiver, make_hook, trail, committed):
    hook = make_hook(receiver.url)
    receiver.answers = [500] * 10

    post(committed, trail)
    retry_due(committed, services.ATTEMPTS)

    assert len(receiver.requests) == services.ATTEMPTS
    delivery = hook.deliveries.get()
    assert (delivery.status, delivery.attempts) == (Delivery.FAILED, services.ATTEMPTS)
    assert delivery.next_attempt is None


def test_it_makes_each_attempt_once(receiver, make_hook, trail, committed):
    hook = make_hook(receiver.url)
    post(committed, trail)
    delivery = hook.deliveries.get()

    assert services.attempt(str(delivery.id), 1) is None  # a message given back to the queue

    assert len(receiver.requests) == 1
    assert delivery.attempt_set.count() == 1


def test_it_follows_no_redirect(receiver, make_hook, trail, committed):
    hook = make_hook(receiver.url)
    receiver.answers = [302] * 10
    receiver.location = receiver.url.replace("/hook", "/elsewhere")

    post(committed, trail)

    assert {request.path for request in receiver.requests} == {"/hook"}
    assert hook.deliveries.get().attempt_set.first().code == 302


def test_it_refuses_at_delivery_a_name_that_resolves_to_loopback(
    receiver, make_hook, trail, committed, settings
):
    hook = make_hook(receiver.url.replace("127.0.0.1", "localhost"))
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    post(committed, trail)

    assert receiver.requests == []
    delivery = hook.deliveries.get()
    assert delivery.status == Delivery.FAILED  # a refusal is not retried
    (attempt,) = delivery.attempt_set.all()
    assert "localhost resolves to" in attempt.error
    assert attempt.code is None


def test_it_never_tells_of_another_users_device(
    receiver, make_hook, outsider, make_device, committed
):
    make_hook(receiver.url)  # alice's
    theirs = make_device(outsider, nick="theirs")
    trail = committed(revisions.create_trail, theirs, state(0))

    post(committed, trail)
    committed(presence.write, [theirs.id])

    assert receiver.requests == []


def test_it_sends_only_the_events_asked_for(receiver, make_hook, trail, device, committed):
    make_hook(receiver.url, events=["device.online"])

    post(committed, trail)
    assert receiver.requests == []

    committed(presence.write, [device.id])
    assert events_of(receiver) == ["device.online"]


def test_it_tells_when_a_device_goes_offline(receiver, make_hook, device, committed):
    make_hook(receiver.url, events=["device.online", "device.offline"])
    committed(presence.write, [device.id])

    long_ago = timezone.now() - dt.timedelta(hours=1)
    Device.objects.filter(pk=device.pk).update(last_seen=long_ago)
    committed(services.sweep)
    committed(services.sweep)  # told once

    assert events_of(receiver) == ["device.online", "device.offline"]
    assert json.loads(receiver.requests[1].body)["data"]["device"] == device.id


def test_it_queues_again_a_delivery_whose_message_was_lost(receiver, make_hook, trail, committed):
    hook = make_hook(receiver.url)
    receiver.answers = [500]
    post(committed, trail)
    receiver.requests.clear()
    delivery = hook.deliveries.get()
    delivery.status, delivery.attempts = Delivery.PENDING, 1
    delivery.next_attempt = timezone.now() - dt.timedelta(hours=1)
    delivery.save()
    delivery.attempt_set.filter(number=2).delete()

    committed(services.sweep)

    assert len(receiver.requests) == 1
    assert hook.deliveries.get().status == Delivery.DELIVERED
