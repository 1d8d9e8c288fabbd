"""The dashboard's Webhooks page: the owner's webhooks, their deliveries, Redeliver."""

from __future__ import annotations

import pytest

from revisions import services as revisions
from webhooks.tests.helpers import state

pytestmark = pytest.mark.django_db


def test_it_lists_the_owners_webhooks_and_their_deliveries(
    client, owner, outsider, receiver, make_hook, device, committed
):
    make_hook(receiver.url)
    make_hook("https://93.184.215.14/theirs", who=outsider)
    committed(revisions.create_trail, device, state(0))
    client.force_login(owner)

    page = client.get("/dashboard/webhooks/").content.decode()

    assert receiver.url in page
    assert "93.184.215.14" not in page
    assert "revision.status" in page and "delivered" in page
    assert "csrfmiddlewaretoken" in page and "Redeliver" in page


def test_it_redelivers_from_the_page_with_a_csrf_token(
    client, owner, receiver, make_hook, device, committed
):
    hook = make_hook(receiver.url)
    committed(revisions.create_trail, device, state(0))
    client.force_login(owner)
    url = f"/dashboard/webhooks/{hook.id}/deliveries/1/redeliver/"

    client.handler.enforce_csrf_checks = True
    assert client.post(url).status_code == 403  # no token
    page = client.get("/dashboard/webhooks/")
    token = page.cookies["csrftoken"].value
    answer = committed(client.post, url, {"csrfmiddlewaretoken": token})

    assert answer.status_code == 302
    assert len(receiver.requests) == 2
    assert hook.deliveries.count() == 2


def test_it_keeps_another_persons_delivery_out_of_reach(
    client, outsider, receiver, make_hook, device, committed
):
    hook = make_hook(receiver.url)
    committed(revisions.create_trail, device, state(0))
    client.force_login(outsider)

    answer = client.post(f"/dashboard/webhooks/{hook.id}/deliveries/1/redeliver/")

    assert answer.status_code == 404
    assert hook.deliveries.count() == 1


def test_it_is_linked_from_the_dashboard(client, owner):
    client.force_login(owner)

    assert 'href="/dashboard/webhooks/"' in client.get("/dashboard/").content.decode()
