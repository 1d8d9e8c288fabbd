"""``/webhooks``: registering, reading, changing, deliveries and redelivery, over the API."""

from __future__ import annotations

import json

import pytest

from revisions import services as revisions
from webhooks.models import Webhook
from webhooks.tests.helpers import state

pytestmark = pytest.mark.django_db

SECRET = "never-say-this-secret-9f2c"


def register(api, owner, url: str, events=("*",)):
    return api.as_(owner).post(
        "/webhooks", {"url": url, "events": list(events), "secret": SECRET}, format="json"
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://10.1.2.3/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://224.0.0.1/hook",
        "http://240.0.0.1/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_it_refuses_a_private_target_at_registration(api, owner, url):
    answer = register(api, owner, url)

    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == "bad-target"
    assert not Webhook.objects.exists()


def test_it_refuses_a_url_that_is_not_http(api, owner):
    answer = register(api, owner, "ftp://93.184.215.14/hook")

    assert answer.status_code == 400
    assert not Webhook.objects.exists()


def test_it_refuses_an_unknown_event(api, owner):
    answer = register(api, owner, "https://93.184.215.14/hook", events=["device.exploded"])

    assert answer.status_code == 400
    assert not Webhook.objects.exists()


def test_it_accepts_a_public_target_and_the_proposal_events(api, owner):
    answer = register(
        api, owner, "https://93.184.215.14/hook", events=["proposal.opened", "proposal.merged"]
    )

    assert answer.status_code == 201, answer.content
    assert answer.json()["events"] == ["proposal.merged", "proposal.opened"]


def test_it_never_answers_the_secret(api, owner, receiver, trail, committed, client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    created = register(api, owner, receiver.url)
    hook_id = created.json()["id"]
    changed = api.patch(f"/webhooks/{hook_id}", {"secret": SECRET + "-new"}, format="json")
    committed(revisions.post_step, trail, state(1), author=owner)
    client.force_login(owner)
    answers = [
        created,
        changed,
        api.get("/webhooks"),
        api.get(f"/webhooks/{hook_id}"),
        api.get(f"/webhooks/{hook_id}/deliveries"),
        committed(api.post, f"/webhooks/{hook_id}/deliveries/1/redeliver"),
        client.get("/dashboard/webhooks/"),
    ]

    assert [answer.status_code for answer in answers] == [201, 200, 200, 200, 200, 202, 200]
    for answer in answers:
        assert b"never-say-this" not in answer.content
    assert Webhook.objects.get().secret == SECRET + "-new"
    assert len(receiver.requests) == 2  # the revision, and its redelivery


def test_it_redelivers_a_delivery(api, owner, receiver, make_hook, device, committed):
    hook = make_hook(receiver.url)
    trail = committed(revisions.create_trail, device, state(0))
    first = json.loads(receiver.requests[0].body)
    assert trail.pk == first["data"]["device"]

    answer = committed(api.as_(owner).post, f"/webhooks/{hook.id}/deliveries/1/redeliver")

    assert answer.status_code == 202, answer.content
    assert answer.json()["redelivery-of"] == 1
    first_copy, again = receiver.requests
    assert again.body == first_copy.body
    assert again.headers["X-Trailhub-Delivery"] != first_copy.headers["X-Trailhub-Delivery"]
    listed = api.get(f"/webhooks/{hook.id}/deliveries").json()
    assert [(d["number"], d["status"]) for d in listed] == [(2, "delivered"), (1, "delivered")]
    assert listed[0]["attempts"][0]["code"] == 200


def test_it_hides_a_webhook_from_everyone_but_its_owner(api, owner, outsider, make_hook):
    hook = make_hook("https://93.184.215.14/hook")

    assert api.as_(outsider).get(f"/webhooks/{hook.id}").status_code == 404
    assert api.as_(outsider).get("/webhooks").json() == []
    assert api.as_(outsider).delete(f"/webhooks/{hook.id}").status_code == 404
    assert Webhook.objects.filter(pk=hook.pk).exists()
    removed = api.as_(owner).delete(f"/webhooks/{hook.id}")
    assert removed.status_code == 200 and removed.json()["id"] == hook.id
    assert not Webhook.objects.filter(pk=hook.pk).exists()
