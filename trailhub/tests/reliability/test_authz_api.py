"""The authorisation matrix over every API operation, for every kind of caller.

The operations come from the OpenAPI schema and the URL resolver: an operation
without a row in ``MATRIX`` fails ``test_every_operation_has_a_row``, so a new
endpoint cannot ship without saying who may call it. For each operation, each
caller and a private and a public target, the test checks the status, that a
refusal is a JSON error that changed nothing stored, and that no response
carries private data its caller may not see (conftest.py's canaries).

The per-app matrices (devices/tests/test_authz_matrix.py,
revisions/tests/test_authz.py, …) pin the exact codes of their own endpoints;
this one is the net over all of them, packs and auth included.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from drf_spectacular.generators import SchemaGenerator
from rest_framework.views import APIView

from conftest import PASSWORD
from portal.api.signing_keys import PEM
from trailhub.tests.reliability.conftest import (
    ACTORS,
    DEVICES,
    LOGGED_IN,
    PEOPLE,
    SPEC,
    stored,
    undone,
)

pytestmark = pytest.mark.django_db

EVERYONE = ACTORS
CIRCLE = ("owner", "device")  # the owner and the device itself
OWNER_DEVICES = ("owner", "device", "sibling")  # who uses the owner's objects
NEW_BYTES = b"new object for the matrix"


def codes(actors, code: int = 200) -> dict[str, int]:
    return {actor: code for actor in actors}


@dataclass(frozen=True)
class Row:
    """Who may call an operation, and with which answer.

    ``private``/``public``: the answer each allowed caller gets (any other is
    refused with a 4xx); ``public`` defaults to ``private``.
    """

    private: dict[str, int]
    public: dict[str, int] | None = None
    body: Any = None
    query: str = ""
    #: The refusal codes when not the usual (401 or 404 anonymous, 403 or 404 logged in).
    refusals: tuple[int, ...] = ()


def read(extra_public=EVERYONE) -> Row:
    """Content that follows the device's visibility."""
    return Row(private=codes(CIRCLE), public=codes(extra_public))


OWNER = Row(private=codes(["owner"]))
PACK_OWNER = Row(private=codes(["owner"]))

MATRIX: dict[str, Row] = {
    # --- auth -----------------------------------------------------------------------
    "POST /auth/accounts": Row(
        codes(EVERYONE),
        body={"nick": "newcomer", "email": "newcomer@example.com", "password": PASSWORD},
    ),
    "GET /auth/auth_status": Row(codes(LOGGED_IN)),
    "GET /auth/login": Row(codes(LOGGED_IN)),
    "POST /auth/login": Row(codes(EVERYONE), body={"username": "alice", "password": PASSWORD}),
    "POST /auth/logout-everywhere": Row(codes(PEOPLE, 204)),
    "GET /auth/tokens": Row(codes(PEOPLE)),
    "POST /auth/tokens": Row(
        codes(PEOPLE, 201), body={"name": "matrix", "scopes": ["devices:read"]}
    ),
    "DELETE /auth/tokens/{api_token}": OWNER,
    "GET /auth/signing-keys": Row(codes(PEOPLE)),
    "POST /auth/signing-keys": Row(codes(PEOPLE, 201), body={"name": "matrix", "pem": PEM}),
    "DELETE /auth/signing-keys/{key_id}": OWNER,
    # --- audit log --------------------------------------------------------------------
    "GET /audit": Row(codes(PEOPLE)),
    # --- webhooks ---------------------------------------------------------------------
    "GET /webhooks": Row(codes(PEOPLE)),
    "POST /webhooks": Row(
        codes(PEOPLE, 201),
        body={"url": "https://93.184.215.14/matrix", "events": ["*"], "secret": "matrix-secret"},
    ),
    "GET /webhooks/{webhook_id}": OWNER,
    "PATCH /webhooks/{webhook_id}": Row(codes(["owner"]), body={"active": False}),
    "DELETE /webhooks/{webhook_id}": OWNER,
    "GET /webhooks/{webhook_id}/deliveries": OWNER,
    "POST /webhooks/{webhook_id}/deliveries/{number}/redeliver": Row(codes(["owner"], 202)),
    # --- devices ----------------------------------------------------------------------
    "GET /devices": Row(codes(LOGGED_IN)),
    "POST /devices": Row(codes(["anonymous", *PEOPLE]), body={}),
    "GET /devices/{ref}": read(),
    "PUT /devices/{ref}": Row(  # claim: it is claimed already
        codes(["owner"], 409),
        public={"owner": 409, "other user": 409, "admin": 409},
        query="?challenge=maple-river-42",
    ),
    "PATCH /devices/{ref}": Row(codes(["owner"]), body={"description": "changed"}),
    "DELETE /devices/{ref}": OWNER,
    "GET /devices/{ref}/device-meta": Row(codes(CIRCLE)),
    "PUT /devices/{ref}/device-meta": Row(codes(["device"]), body={"x": 1}),
    "PATCH /devices/{ref}/device-meta": Row(codes(["device"]), body={"x": 1}),
    "PUT /devices/{ref}/public": OWNER,
    "DELETE /devices/{ref}/public": OWNER,
    "GET /devices/{ref}/user-meta": Row(codes(CIRCLE)),
    "PUT /devices/{ref}/user-meta": Row(codes(["owner"]), body={"x": 1}),
    "PATCH /devices/{ref}/user-meta": Row(codes(["owner"]), body={"x": 1}),
    "GET /devices/np/{usernick}/{devicenick}": read(),
    "GET /devices/{ref}/tags": Row(codes(CIRCLE)),
    "PUT /devices/{ref}/tags": Row(codes(["owner"]), body=["matrix"]),
    # --- community ----------------------------------------------------------------------
    "GET /community/devices": Row(codes(EVERYONE)),
    "GET /community/users/{usernick}/devices": Row(codes(EVERYONE)),
    # A person stars what they can see; a device is a 403 person-only.
    "PUT /devices/{ref}/star": Row(codes(["owner"]), public=codes(PEOPLE)),
    "DELETE /devices/{ref}/star": Row(codes(["owner"]), public=codes(PEOPLE)),
    "GET /devices/{ref}/stargazers": read(),
    "GET /devices/{ref}/forks": read(),
    # A person forks what they can see into a new device of theirs; a device is a 403.
    "POST /devices/{ref}/fork": Row(
        codes(["owner"], 201), public=codes(PEOPLE, 201), body={"nick": "matrix-fork"}
    ),
    # The target is no fork: its owner is told so (409 no-upstream), anyone else refused.
    "GET /trails/{ref}/upstream": read(),
    "PUT /trails/{ref}/upstream": Row(codes(["owner"], 409), body={"follow": True}),
    "POST /trails/{ref}/upstream/merge": Row(codes(["owner"], 409), body={"rev": -1}),
    # Proposals (#1: the owner's lab to kiosk): whoever sees the device reads them and
    # proposes their own revisions; people who see it comment; its owner merges; the owner
    # or the proposer closes.
    "GET /trails/{ref}/proposals": read(),
    "POST /trails/{ref}/proposals": Row(
        codes(["owner"], 201), body={"from": "{lab}", "title": "matrix"}
    ),
    "GET /trails/{ref}/proposals/{number}": read(),
    "POST /trails/{ref}/proposals/{number}/comments": Row(
        codes(["owner"], 201), public=codes(PEOPLE, 201), body={"body": "matrix"}
    ),
    "POST /trails/{ref}/proposals/{number}/merge": Row(codes(["owner"], 201)),
    "POST /trails/{ref}/proposals/{number}/close": OWNER,
    "GET /devices/tokens": Row(codes(PEOPLE)),
    "POST /devices/tokens": Row(codes(PEOPLE), body={}),
    "GET /devices/tokens/{token_id}": OWNER,
    "DELETE /devices/tokens/{token_id}": OWNER,
    "GET /logs": Row(codes(["owner"]), query="?dev={ref}"),
    "POST /logs": Row(codes(DEVICES), body={"msg": "hello"}),
    # --- objects and exports ------------------------------------------------------------
    "GET /exports/{owner}/{nick}/{rev}/{filename}": read(),
    "GET /objects": Row(codes(LOGGED_IN)),
    "POST /objects": Row(
        codes(LOGGED_IN),
        body={
            "objectname": "new",
            "size": str(len(NEW_BYTES)),
            "sha256sum": hashlib.sha256(NEW_BYTES).hexdigest(),
        },
    ),
    "GET /objects/{sha}": Row(codes(OWNER_DEVICES), public=codes(EVERYONE)),
    "DELETE /objects/{sha}": Row(codes(["owner"], 409)),  # a revision names it
    "GET /objects/{sha}/blob": Row(codes(OWNER_DEVICES, 302), public=codes(EVERYONE, 302)),
    # The signed token in the path is the authorisation: forged, nobody gets in.
    "GET /local-s3/{token}": Row({}, refusals=(403,)),
    "PUT /local-s3/{token}": Row({}, refusals=(403,)),
    # --- packs --------------------------------------------------------------------------
    "GET /packs": Row(codes(PEOPLE)),
    "POST /packs": Row(codes(["owner"]), body={"nick": "second", "leader": "{ref}"}),
    "GET /packs/{pack}": PACK_OWNER,
    "PATCH /packs/{pack}": Row(codes(["owner"]), body={"description": "changed"}),
    "DELETE /packs/{pack}": PACK_OWNER,
    "GET /packs/{pack}/followers/{device}": PACK_OWNER,
    "PUT /packs/{pack}/followers/{device}": PACK_OWNER,
    "DELETE /packs/{pack}/followers/{device}": PACK_OWNER,
    "GET /packs/{pack}/rollouts": PACK_OWNER,
    "GET /packs/{pack}/rollouts/{rollout}": PACK_OWNER,
    "POST /packs/{pack}/rollouts/{rollout}/abort": PACK_OWNER,
    "POST /packs/{pack}/rollouts/{rollout}/resume": Row(codes(["owner"], 409)),
    "POST /packs/{pack}/rollouts/{rollout}/revert": PACK_OWNER,
    # --- trails and steps ---------------------------------------------------------------
    "GET /trails": Row(codes(LOGGED_IN)),
    # A factory state: the device has one already; the other devices start theirs.
    "POST /trails": Row({"device": 409, "sibling": 200, "stranger": 200}, body={"#spec": SPEC}),
    "GET /trails/summary": Row(codes(LOGGED_IN)),
    "GET /trails/{ref}": read(),
    "GET /trails/{ref}/summary": read(),
    "GET /trails/{ref}/.pvrremote": read(),
    "GET /trails/{ref}/steps": read(),
    "POST /trails/{ref}/steps": Row(  # the device too: on-device pvr, auto-follow
        codes(CIRCLE), body={"rev": -1, "commit-msg": "next", "state": {"#spec": SPEC}}
    ),
    "GET /trails/{ref}/steps/{rev}": read(),
    "GET /trails/{ref}/steps/{rev}/.pvrremote": read(),
    "GET /trails/{ref}/steps/{rev}/state": read(),
    "PUT /trails/{ref}/steps/{rev}/state": Row(codes(["owner"]), body={"#spec": SPEC}),
    "POST /trails/{ref}/steps/{rev}/state": Row(codes(["owner"]), body={"#spec": SPEC}),
    "GET /trails/{ref}/steps/{rev}/meta": read(),
    "PUT /trails/{ref}/steps/{rev}/meta": Row(codes(["owner"]), body={"m": 2}),
    "GET /trails/{ref}/steps/{rev}/progress": read(),  # the mocker reads it back
    "PUT /trails/{ref}/steps/{rev}/progress": Row(codes(["device"]), body={"status": "QUEUED"}),
    "PUT /trails/{ref}/steps/{rev}/cancel": OWNER,
    "PUT /trails/{ref}/steps/{rev}/wontgo": Row(codes(["owner"], 409)),  # NEW: cancel it instead
    "GET /trails/{ref}/steps/{rev}/objects": read(),
    "POST /trails/{ref}/steps/{rev}/objects": Row(
        codes(CIRCLE, 409),  # the owner has the object already
        body={"objectname": "x", "size": "256", "sha256sum": "{sha}"},
    ),
    "GET /trails/{ref}/steps/{rev}/objects/{sha}": read(),
}


def schema_operations() -> set[str]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }


def _routes(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def resolver_operations() -> set[str]:
    """Every method of every DRF view the URL resolver routes to, in the schema's spelling."""
    found = set()
    for route, callback in _routes(get_resolver().url_patterns):
        view = getattr(callback, "cls", None)
        if view is None or not issubclass(view, APIView) or route.startswith("api/"):
            continue  # /api/schema/ and /api/docs/ are pages (test_authz_pages.py)
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route).rstrip("/")
        for method in ("get", "post", "put", "patch", "delete"):
            if hasattr(view, method):
                found.add(f"{method.upper()} {path}")
    return found


def test_every_operation_has_a_row():
    operations = schema_operations()
    assert operations == resolver_operations(), "an API view is missing from the schema"
    missing = sorted(operations - MATRIX.keys())
    assert not missing, f"add these operations to MATRIX (who may call them?): {missing}"
    assert not sorted(MATRIX.keys() - operations), "MATRIX names operations that do not exist"


def fill(template: Any, ids: dict) -> Any:
    if isinstance(template, str):
        return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], template)
    if isinstance(template, dict):
        return {fill(k, ids): fill(v, ids) for k, v in template.items()}
    return template


def call(api, world, operation: str, actor: str, row: Row):
    method, path = operation.split(" ", 1)
    url = fill(path + row.query, world.ids)
    body = fill(row.body, world.ids)
    api.as_(world.actors[actor])
    response = getattr(api, method.lower())(url, body, format="json")
    sent = url + json.dumps(body)
    return response, sent


def body_text(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode(errors="replace") + response.get("Location", "")


def check(api, world, operation: str, actor: str, row: Row, allowed: dict, before) -> list[str]:
    """Call ``operation`` as ``actor`` and undo it; return what went wrong (nothing: []).

    ``before`` is everything stored before the call.
    """
    problems = []
    with undone():
        response, sent = call(api, world, operation, actor, row)
        text = body_text(response)
        status = response.status_code
        if actor in allowed:
            if status != allowed[actor]:
                problems.append(f"{actor}: {status}, expected {allowed[actor]}: {text[:300]}")
        else:
            refusals = row.refusals or ((401, 404) if actor == "anonymous" else (403, 404))
            if status not in refusals:
                problems.append(f"{actor}: {status}, expected one of {refusals}: {text[:300]}")
            elif not (response.json().get("error") and response.json().get("code")):
                problems.append(f"{actor}: a refusal without an error and a code: {text}")
            elif stored() != before:
                problems.append(f"{actor}: a refused request changed something")
        leaked = world.leaks(actor, text, sent)
        if leaked:
            problems.append(f"{actor} got private data ({', '.join(leaked)}): {text[:300]}")
    return problems


@pytest.mark.parametrize("visibility", ["private", "public"])
@pytest.mark.parametrize("operation", sorted(MATRIX))
def test_it_answers_each_caller_as_the_matrix_says(api, world, operation, visibility):
    if visibility == "public":
        world.make_public()
    row = MATRIX[operation]
    allowed = row.public if visibility == "public" and row.public is not None else row.private
    before = stored()
    problems = [
        problem
        for actor in ACTORS
        for problem in check(api, world, operation, actor, row, allowed, before)
    ]
    assert not problems, "\n".join(problems)


def _app_calls(api, world, token: str, operation: str) -> tuple[Any, str]:
    """Call ``operation`` as an app with the OAuth access token ``token``."""
    method, path = operation.split(" ", 1)
    row = MATRIX[operation]
    url = fill(path + row.query, world.ids)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = getattr(api, method.lower())(url, fill(row.body, world.ids), format="json")
    return response, url


def _reads_bearer_tokens(operation: str, world) -> bool:
    if operation == "POST /auth/login":  # reads the credentials in its body, never a token
        return False
    path = fill(operation.split(" ", 1)[1], world.ids)
    view = resolve(path.split("?")[0]).func.cls
    return bool(view.authentication_classes)


def test_an_oauth_token_answers_as_its_person_within_its_scopes(api, world):
    """Apps acting for the owner (portal/oauth.py), over every operation: with the scope an
    operation needs, the owner's answer; with every other scope, 403 and nothing changed
    (login-only operations: whatever the scopes); revoked, 401 and nothing changed."""
    from oauth2_provider.models import Application

    from portal import oauth
    from portal.scopes import SCOPES, grants, required_scope
    from trailhub.tests.reliability.conftest import oauth_token

    owner = world.actors["owner"]
    app = Application.objects.get(client_id=world.ids["client_id"])
    revoked = oauth_token(owner, app, list(SCOPES))
    problems = []
    # The login and signed object URLs read no bearer token: no token changes their answer.
    operations = [op for op in sorted(MATRIX) if _reads_bearer_tokens(op, world)]
    assert len(operations) > 60
    for operation in operations:
        method, path = operation.split(" ", 1)
        needed = required_scope(method, fill(path, world.ids))
        if needed == "":  # who the token is: any token may ask
            continue
        others = [s for s in SCOPES if needed is None or not grants([s], needed)]
        with undone():
            token = oauth_token(owner, app, others)
            before = stored()
            response, url = _app_calls(api, world, token, operation)
            code = "scope-login-only" if needed is None else "scope-missing"
            if response.status_code != 403 or response.json().get("code") != code:
                text = body_text(response)[:200]
                problems.append(f"{operation} with {others}: {response.status_code} {text}")
            elif stored() != before:
                problems.append(f"{operation} with too few scopes changed something")
        owners = MATRIX[operation].private.get("owner")
        if needed and owners:
            with undone():
                token = oauth_token(owner, app, [needed])
                response, url = _app_calls(api, world, token, operation)
                if response.status_code != owners:
                    text = body_text(response)[:200]
                    problems.append(f"{operation} with {needed}: {response.status_code} {text}")
    oauth.revoke(owner, app.client_id)
    before = stored()
    for operation in operations:
        with undone():
            response, url = _app_calls(api, world, revoked, operation)
            if response.status_code != 401 or response.json().get("code") != "token-invalid":
                problems.append(f"{operation} revoked: {response.status_code}")
            elif stored() != before:
                problems.append(f"{operation} with a revoked token changed something")
    assert not problems, "\n".join(problems)
