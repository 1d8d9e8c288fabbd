"""The authorisation matrix over every page and the admin, for every kind of caller.

People browse with a session; devices have no session, and a bearer token on
a page must count for nothing. Pages come from the URL resolver (a new page
without a row in ``PAGES`` fails), admin pages from the admin site's registry.
Each page is fetched (GET) and posted to (POST) by every caller, on a private
and on a public target: never a server error, a refusal is a 404, a 405 or a
redirect to the login page and changes nothing, and no page shows a caller
data it may not see.
"""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import get_resolver, reverse
from rest_framework.views import APIView

from portal.auth import issue_token
from trailhub.tests.reliability.conftest import ACTORS, LOGGED_IN, PEOPLE, stored, undone
from trailhub.tests.reliability.test_authz_api import _routes, body_text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _a_worker_runs():
    """A task worker's heartbeat, so that with a broker configured /readyz is ready: this
    matrix judges who may use a page; trailhub/tests/test_health.py judges readiness."""
    from trailhub import workers

    workers.beat("authz-matrix")


# Who may use each page: (on a private target, on a public target); None: the same.
ANYONE = (ACTORS, None)
SIGNED_IN = (PEOPLE, None)
OWNER = (("owner",), None)
CONTENT = (("owner",), ACTORS)  # follows the device's visibility (pages: sessions only)
SIGNED_IN_IF_PUBLIC = (("owner",), PEOPLE)

PAGES: dict[str, tuple] = {
    "": ANYONE,
    "accounts/signup/": ANYONE,
    "accounts/profile/": SIGNED_IN,
    "accounts/logout-everywhere/": SIGNED_IN,
    "accounts/login/": ANYONE,
    # The login's second step: without a half-done login it sends anyone to the login.
    "accounts/login/verify/": ANYONE,
    "accounts/two-factor/": SIGNED_IN,
    "accounts/two-factor/setup/": SIGNED_IN,
    "accounts/two-factor/recovery-codes/": SIGNED_IN,
    "accounts/two-factor/off/": SIGNED_IN,
    "accounts/logout/": ANYONE,
    "accounts/password_change/": SIGNED_IN,
    "accounts/password_change/done/": SIGNED_IN,
    "accounts/password_reset/": ANYONE,
    "accounts/password_reset/done/": ANYONE,
    "accounts/reset/<uidb64>/<token>/": ANYONE,
    "accounts/reset/done/": ANYONE,
    "accounts/tokens/": SIGNED_IN,
    "accounts/tokens/<str:api_token>/revoke/": OWNER,
    "accounts/apps/": SIGNED_IN,
    "accounts/apps/<str:client_id>/revoke/": OWNER,
    "accounts/apps/registered/": SIGNED_IN,
    "accounts/apps/registered/<str:client_id>/delete/": OWNER,
    # OAuth 2.0 (portal/oauth.py): the consent page is a person's; the token and revocation
    # endpoints are the apps' (client id, code, verifier), a bad request a 400 for anyone.
    "oauth/authorize/": SIGNED_IN,
    "oauth/token/": ANYONE,
    "oauth/revoke/": ANYONE,
    "accounts/signing-keys/": SIGNED_IN,
    "accounts/signing-keys/<str:key_id>/remove/": OWNER,
    "accounts/audit/": SIGNED_IN,
    "dashboard/": SIGNED_IN,
    # A bulk action on the person's own devices (community/views/fleet.py); POST only.
    "dashboard/bulk/": SIGNED_IN,
    "dashboard/claim/": SIGNED_IN,
    "dashboard/tokens/": SIGNED_IN,
    "dashboard/tokens/<str:token_id>/disable/": OWNER,
    "dashboard/packs/": SIGNED_IN,
    "dashboard/packs/<str:pack_id>/": OWNER,
    "dashboard/packs/<str:pack_id>/settings/": OWNER,
    "dashboard/packs/<str:pack_id>/delete/": OWNER,
    "dashboard/packs/<str:pack_id>/followers/": OWNER,
    "dashboard/packs/<str:pack_id>/followers/<str:device_id>/remove/": OWNER,
    "dashboard/packs/<str:pack_id>/rollouts/<str:rollout_id>/<str:action>/": OWNER,
    "dashboard/webhooks/": SIGNED_IN,
    "dashboard/webhooks/<str:webhook_id>/deliveries/<str:number>/redeliver/": OWNER,
    "api/schema/": ANYONE,
    "api/docs/": ANYONE,
    # Probes for the load balancer and the orchestrator: no login, nothing private.
    "healthz": ANYONE,
    "readyz": ANYONE,
    # Off unless METRICS_TOKEN or METRICS_ALLOW is set (trailhub/tests/test_metrics.py): a 404.
    "metrics": ((), None),
    "favicon.ico": ANYONE,
    "explore/": ANYONE,
    "u/<str:nick>/": ANYONE,
    "u/<str:nick>/<str:device>/": CONTENT,
    "u/<str:nick>/<str:device>/revisions/": CONTENT,
    "u/<str:nick>/<str:device>/revisions/<int:rev>/": CONTENT,
    "u/<str:nick>/<str:device>/revisions/<int:rev>/files/<path:key>": CONTENT,
    "u/<str:nick>/<str:device>/revisions/<int:rev>/download/<path:key>": CONTENT,
    "u/<str:nick>/<str:device>/revisions/<int:rev>/rollback/": OWNER,
    "u/<str:nick>/<str:device>/revisions/<int:rev>/fork/": SIGNED_IN_IF_PUBLIC,
    "u/<str:nick>/<str:device>/diff/": CONTENT,
    "u/<str:nick>/<str:device>/forks/": CONTENT,
    "u/<str:nick>/<str:device>/upstream/merge/": OWNER,
    "u/<str:nick>/<str:device>/upstream/follow/": OWNER,
    "u/<str:nick>/<str:device>/proposals/": CONTENT,
    "u/<str:nick>/<str:device>/proposals/new/": SIGNED_IN_IF_PUBLIC,
    "u/<str:nick>/<str:device>/proposals/<int:number>/": CONTENT,
    "u/<str:nick>/<str:device>/proposals/<int:number>/comments/": SIGNED_IN_IF_PUBLIC,
    "u/<str:nick>/<str:device>/proposals/<int:number>/merge/": OWNER,
    # The proposer closes too: on a public device anyone signed in is answered (refused).
    "u/<str:nick>/<str:device>/proposals/<int:number>/close/": SIGNED_IN_IF_PUBLIC,
    "u/<str:nick>/<str:device>/star/": SIGNED_IN_IF_PUBLIC,
    "u/<str:nick>/<str:device>/meta/": OWNER,
    "u/<str:nick>/<str:device>/logs/": OWNER,
    "u/<str:nick>/<str:device>/settings/": OWNER,
    "u/<str:nick>/<str:device>/settings/delete/": OWNER,
}


def page_routes() -> set[str]:
    routes = set()
    for route, callback in _routes(get_resolver().url_patterns):
        view = getattr(callback, "cls", None)
        is_api = view is not None and issubclass(view, APIView) and not route.startswith("api/")
        if not is_api and not route.startswith("admin/"):
            routes.add(route)
    return routes


def test_every_page_has_a_row():
    routes = page_routes()
    assert not sorted(routes - PAGES.keys()), "add these pages to PAGES (who may use them?)"
    assert not sorted(PAGES.keys() - routes), "PAGES names pages that do not exist"


def client_for(world, actor: str) -> Client:
    client = Client()
    subject = world.actors[actor]
    if actor in PEOPLE:
        client.force_login(subject)
    elif subject is not None:  # a device: its token, which pages must ignore
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {issue_token(subject)}"
    return client


def page_url(route: str, world) -> str:
    ids = {
        **world.ids,
        "nick": world.ids["usernick"],
        "device": world.ids["devicenick"],
        "pack_id": world.ids["pack"],
        "device_id": world.ids["device"],
        "rollout_id": world.ids["rollout"],
        "action": "abort",
        "uidb64": "MQ",
        "token": "set-password",
    }
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: ids[m.group(1)], route)


def refused(response) -> bool:
    if response.status_code in (403, 404, 405):
        return True
    login = reverse("login")
    return response.status_code == 302 and response["Location"].startswith(login)


def check_page(world, route: str, method: str, actor: str, allowed, before) -> list[str]:
    url = page_url(route, world)
    problems = []
    with undone():
        response = getattr(client_for(world, actor), method)(url)
        text = body_text(response)
        where = f"{method.upper()} {url} as {actor}"
        if response.status_code >= 500:
            problems.append(f"{where}: {response.status_code}")
        elif actor not in allowed and not refused(response):
            problems.append(f"{where}: {response.status_code}, expected a refusal")
        elif actor not in allowed and stored() != before:
            problems.append(f"{where}: a refused request changed something")
        elif actor in allowed and response.status_code in (403, 404):
            problems.append(f"{where}: {response.status_code}, expected to be let in")
        leaked = world.leaks(actor, text, url)
        if leaked:
            problems.append(f"{where}: private data ({', '.join(leaked)})")
    return problems


@pytest.mark.parametrize("visibility", ["private", "public"])
@pytest.mark.parametrize("route", sorted(PAGES))
def test_each_page_answers_each_caller_as_the_matrix_says(world, route, visibility):
    private, public = PAGES[route]
    allowed = private
    if visibility == "public":
        world.make_public()
        allowed = public or private
    before = stored()
    problems = [
        problem
        for method in ("get", "post")
        for actor in ACTORS
        for problem in check_page(world, route, method, actor, allowed, before)
    ]
    assert not problems, "\n".join(problems)


def admin_urls(world) -> list[str]:
    """Each registered model's list, add and (for its first row) change page."""
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls += [reverse(f"{name}_changelist"), reverse(f"{name}_add")]
        first = model.objects.order_by("pk").first()
        if first is not None:
            urls.append(reverse(f"{name}_change", args=[first.pk]))
    return urls


def test_the_admin_is_for_admins_only(world):
    urls = admin_urls(world)
    assert len(urls) > 20
    problems = []
    for url in urls:
        for actor in LOGGED_IN + ("anonymous",):
            response = client_for(world, actor).get(url)
            text = body_text(response)
            if actor == "admin":
                # Some models cannot be added by hand (their rows come from the API).
                expected = (200, 403) if url.endswith("/add/") else (200,)
                if response.status_code not in expected:
                    problems.append(f"{url} as admin: {response.status_code}")
                continue
            login = reverse("admin:login")
            if response.status_code != 302 or not response["Location"].startswith(login):
                problems.append(f"{url} as {actor}: {response.status_code}, expected the login")
            if world.leaks(actor, text, url):
                problems.append(f"{url} as {actor}: private data")
    assert not problems, "\n".join(problems)
