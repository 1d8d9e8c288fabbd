"""Issue 24's "done when" for the audit log: a CI token posting a revision and refused a
deletion, an app's consent and a webhook delivery all show on the owner's audit page,
each with who, how and from where."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from portal import oauth, tokens
from portal.tests.test_oauth import REDIRECT, authorised
from revisions import services as revisions
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db

STATE = {"#spec": "pantavisor-service-system@1", "app/config.json": {"version": 1}}


@pytest.fixture(autouse=True)
def _eager_tasks():
    from trailhub.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def test_the_audit_page_lists_a_ci_token_an_app_and_a_webhook(
    client, owner, device, django_capture_on_commit_callbacks
):
    revisions.create_trail(device, {"#spec": "pantavisor-service-system@1"})
    # A receiver on loopback: refused at delivery (private targets are off), for good.
    Webhook.objects.create(owner=owner, url="http://127.0.0.1:9/hook", events=["*"], secret="s")
    _, raw = tokens.issue(owner, "ci-deploy", ["trails:write", "devices:read"])
    ci = APIClient(REMOTE_ADDR="203.0.113.7")
    ci.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    with django_capture_on_commit_callbacks(execute=True):
        posted = ci.post(
            f"/trails/{device.id}/steps", {"state": STATE, "commit-msg": "v1"}, format="json"
        )
    assert posted.status_code == 200, posted.json()
    assert ci.delete(f"/devices/{device.id}").status_code == 403
    authorised(owner, oauth.register(owner, "reports", [REDIRECT]), "devices:read")

    client.force_login(owner)
    page = client.get("/accounts/audit/").content.decode()
    listed = {
        action: page.count(f'data-action="{action}"')
        for action in (
            "token.create",
            "revision.post",
            "auth.refused",
            "webhook.deliver",
            "app.register",
            "app.authorise",
        )
    }
    assert listed == dict.fromkeys(listed, 1)
    assert page.count("with the token “ci-deploy”") == 2  # the post and the refusal
    assert page.count("203.0.113.7") == 2
    assert '"status": "failed"' in page.replace("&quot;", '"')
