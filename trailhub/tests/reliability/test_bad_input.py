"""A corpus of bad input: every case is a 4xx with a message, never a 500, and stores nothing.

Malformed JSON, wrong top-level types and oversized bodies are sent to every
operation that takes a JSON body (taken from the OpenAPI schema, so a new
endpoint is covered without a new line here), by a caller allowed to use it.
The rest are cases a careless or hostile client sends: wrong field types,
path traversal in state keys, unknown shas, wrong sizes and hashes, statuses
out of order.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from revisions.models import Step
from trail import status as st
from trailhub.tests.reliability.conftest import SPEC, stored, undone
from trailhub.tests.reliability.test_authz_api import MATRIX, fill

pytestmark = pytest.mark.django_db

UNKNOWN_SHA = "ab" * 32


def json_operations() -> list[str]:
    """The operations whose request body is JSON, as the schema says."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = (operation.get("requestBody") or {}).get("content", {})
            if "application/json" in content:
                found.append(f"{method.upper()} {path}")
    return sorted(found)


def caller_of(operation: str) -> str:
    """Someone the matrix lets call ``operation`` (the owner when it may; else anyone)."""
    allowed = MATRIX[operation].private
    return "owner" if "owner" in allowed or not allowed else next(iter(allowed))


@dataclass
class Case:
    actor: str
    method: str
    path: str
    body: Any = None
    raw: bytes | None = None
    expected: tuple[int, ...] = (400,)


def problems_of(api, world, cases: dict[str, Case]) -> list[str]:
    """Send each case (undoing whatever it did) and list what went wrong."""
    before = stored()
    problems = []
    for name, case in cases.items():
        with undone():
            api.as_(world.actors[case.actor])
            path = fill(case.path, world.ids)
            if case.raw is not None:
                response = api.generic(case.method, path, case.raw, "application/json")
            else:
                body = fill(case.body, world.ids)
                response = getattr(api, case.method.lower())(path, body, format="json")
            text = response.content.decode(errors="replace")
            if response.status_code not in case.expected:
                problems.append(f"{name}: {response.status_code} {text[:300]}")
            else:
                error = response.json()
                if not (error.get("error") and error.get("code")):
                    problems.append(f"{name}: no error message and code: {text[:300]}")
                elif stored() != before:
                    problems.append(f"{name}: stored something")
    return problems


MALFORMED = {
    "truncated": b'{"a": ',
    "not json": b"hello",
    "bad utf-8": b'{"a": "\xff\xfe"}',
    "NaN": b'{"a": NaN}',
    "trailing garbage": b'{"a": 1} x',
    # Valid JSON, but PostgreSQL can store NUL in neither jsonb nor text.
    "a NUL in a string": b'{"a": "x\\u0000y", "state": {"#spec": "%s", "a.json": "\\u0000"}}'
    % SPEC.encode(),
    "a NUL in a name": b'{"a\\u0000": 1}',
    # Which of the two counts would be up to the parser.
    "a name twice": b'{"nick": "x", "nick": "y", "state": {"a": 1, "a": 2}}',
}
WRONG_TYPES = {"a list": [], "a string": "x", "a number": 1, "null": None, "true": True}
# A batch of log entries is a list (or one entry, an object): an empty batch is fine.
#: A list is the body these take.
RIGHT_TYPES = {("POST /logs", "a list"), ("PUT /devices/{ref}/tags", "a list")}


def test_it_refuses_malformed_json_everywhere(api, world):
    cases = {
        f"{operation} with {name}": Case(caller_of(operation), *operation.split(" ", 1), raw=raw)
        for operation in json_operations()
        for name, raw in MALFORMED.items()
    }
    assert len(cases) > 100
    problems = problems_of(api, world, cases)
    assert not problems, "\n".join(problems)


def test_it_refuses_nul_characters_in_the_json_forms(world):
    from django.test import Client

    client = Client()
    client.force_login(world.actors["owner"])
    before = stored()
    for url, field in (
        ("/u/alice/kiosk/meta/", "user_meta"),
        ("/dashboard/tokens/", "default_user_meta"),
    ):
        answer = client.post(url, {field: '{"a": "\\u0000"}', "description": "x"})
        assert answer.status_code == 200, (url, answer.status_code)  # the form, with its error
        assert "NUL characters" in answer.content.decode(), url
        assert stored() == before, url


def test_it_refuses_wrong_top_level_types_everywhere(api, world):
    cases = {
        f"{operation} with {name}": Case(
            caller_of(operation), *operation.split(" ", 1), raw=json.dumps(value).encode()
        )
        for operation in json_operations()
        for name, value in WRONG_TYPES.items()
        if (operation, name) not in RIGHT_TYPES
    }
    problems = problems_of(api, world, cases)
    assert not problems, "\n".join(problems)


def test_it_refuses_oversized_bodies_everywhere(api, world, settings):
    settings.API_MAX_BODY_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    big = json.dumps({"x": "y" * 5000}).encode()
    cases = {
        operation: Case(caller_of(operation), *operation.split(" ", 1), raw=big, expected=(413,))
        for operation in json_operations()
    }
    problems = problems_of(api, world, cases)
    assert not problems, "\n".join(problems)


STEPS = "/trails/{ref}/steps"
UPSTREAM = "/trails/{ref}/upstream"
PROPOSALS = "/trails/{ref}/proposals"
PROGRESS = "/trails/{ref}/steps/{rev}/progress"
OBJECT = {"objectname": "o", "size": "10", "sha256sum": UNKNOWN_SHA}

FIELD_TYPES = {
    "rev not a number": Case("owner", "POST", STEPS, {"rev": "x", "state": {"#spec": SPEC}}),
    "rev below -1": Case("owner", "POST", STEPS, {"rev": -2, "state": {"#spec": SPEC}}),
    "state a list": Case("owner", "POST", STEPS, {"state": []}),
    "state missing": Case("owner", "POST", STEPS, {"commit-msg": "x"}),
    "meta a list": Case("owner", "POST", STEPS, {"state": {"#spec": SPEC}, "meta": []}),
    "commit-msg a list": Case("owner", "POST", STEPS, {"state": {"#spec": SPEC}, "commit-msg": []}),
    "commit-msg too long": Case(
        "owner", "POST", STEPS, {"state": {"#spec": SPEC}, "commit-msg": "m" * 10_001}
    ),
    "no #spec": Case("owner", "POST", STEPS, {"state": {"a.json": {}}}),
    "unknown #spec": Case("owner", "POST", STEPS, {"state": {"#spec": "dos@1"}}),
    "object value not a sha": Case("owner", "POST", STEPS, {"state": {"#spec": SPEC, "k": "x"}}),
    "object value a number": Case("owner", "POST", STEPS, {"state": {"#spec": SPEC, "k": 5}}),
    "step meta a list": Case("owner", "PUT", "/trails/{ref}/steps/{rev}/meta", []),
    "state replaced by a list": Case("owner", "PUT", "/trails/{ref}/steps/{rev}/state", []),
    "status a number": Case("device", "PUT", PROGRESS, {"status": 5}),
    "status unknown": Case("device", "PUT", PROGRESS, {"status": "BOGUS"}),
    "status missing": Case("device", "PUT", PROGRESS, {"progress": 5}),
    "progress over 100": Case("device", "PUT", PROGRESS, {"status": "QUEUED", "progress": 101}),
    "progress negative": Case("device", "PUT", PROGRESS, {"status": "QUEUED", "progress": -1}),
    "progress a string": Case("device", "PUT", PROGRESS, {"status": "QUEUED", "progress": "x"}),
    "downloads a list": Case("device", "PUT", PROGRESS, {"status": "QUEUED", "downloads": []}),
    "size negative": Case("owner", "POST", "/objects", {**OBJECT, "size": "-1"}),
    "size a fraction": Case("owner", "POST", "/objects", {**OBJECT, "size": 1.5}),
    "size a word": Case("owner", "POST", "/objects", {**OBJECT, "size": "ten"}),
    "size true": Case("owner", "POST", "/objects", {**OBJECT, "size": True}),
    "size missing": Case("owner", "POST", "/objects", {"sha256sum": UNKNOWN_SHA}),
    "sha uppercase": Case("owner", "POST", "/objects", {**OBJECT, "sha256sum": "AB" * 32}),
    "sha short": Case("owner", "POST", "/objects", {**OBJECT, "sha256sum": "ab"}),
    "sha a number": Case("owner", "POST", "/objects", {**OBJECT, "sha256sum": 5}),
    # A slash is fine (the objectname is the state key); control characters are not.
    "objectname with a newline": Case(
        "owner", "POST", "/objects", {**OBJECT, "objectname": "bsp/a\nb"}
    ),
    "user-meta a list": Case("owner", "PUT", "/devices/{ref}/user-meta", []),
    "tags an object": Case("owner", "PUT", "/devices/{ref}/tags", {"tags": ["a"]}),
    "tag with a space": Case("owner", "PUT", "/devices/{ref}/tags", ["two words"]),
    "tag a number": Case("owner", "PUT", "/devices/{ref}/tags", [5]),
    "tags too many": Case("owner", "PUT", "/devices/{ref}/tags", [f"t{n}" for n in range(33)]),
    "device-meta a string": Case("device", "PATCH", "/devices/{ref}/device-meta", "x"),
    "description a list": Case("owner", "PATCH", "/devices/{ref}", {"description": []}),
    "nick with a slash": Case("owner", "PATCH", "/devices/{ref}", {"nick": "a/b"}),
    "token meta a list": Case("owner", "POST", "/devices/tokens", {"default-user-meta": []}),
    "token meta empty text": Case("owner", "POST", "/devices/tokens", {"default-user-meta": ""}),
    "log entry a number": Case("device", "POST", "/logs", [5]),
    "log tsec a word": Case("device", "POST", "/logs", [{"msg": "x", "tsec": "noon"}]),
    "login username a list": Case("anonymous", "POST", "/auth/login", {"username": []}),
    "scoped token scopes a dict": Case(
        "owner", "POST", "/auth/tokens", {"name": "t", "scopes": {}}
    ),
    "scoped token scope unknown": Case(
        "owner", "POST", "/auth/tokens", {"name": "t", "scopes": ["root"]}
    ),
    "scoped token name a list": Case(
        "owner", "POST", "/auth/tokens", {"name": [], "scopes": ["devices:read"]}
    ),
    "scoped token name too long": Case(
        "owner", "POST", "/auth/tokens", {"name": "n" * 101, "scopes": ["devices:read"]}
    ),
    "scoped token lifetime a word": Case(
        "owner",
        "POST",
        "/auth/tokens",
        {"name": "t", "scopes": ["devices:read"], "expires-in": "x"},
    ),
    "scoped token lifetime huge": Case(
        "owner",
        "POST",
        "/auth/tokens",
        {"name": "t", "scopes": ["devices:read"], "expires-in": 10**30},
    ),
    "scoped token unknown id": Case(
        "owner", "DELETE", "/auth/tokens/" + "f" * 24, None, None, (404,)
    ),
    "signing key pem a list": Case("owner", "POST", "/auth/signing-keys", {"name": "k", "pem": []}),
    "signing key pem garbage": Case(
        "owner", "POST", "/auth/signing-keys", {"name": "k", "pem": "-----BEGIN PUBLIC KEY-----"}
    ),
    "signing key pem huge": Case(
        "owner", "POST", "/auth/signing-keys", {"name": "k", "pem": "A" * 100_000}
    ),
    "signing key user a dict": Case(
        "owner", "POST", "/auth/signing-keys", {"name": "k", "user": {}}
    ),
    "signing key name empty": Case(
        "owner", "POST", "/auth/signing-keys", {"name": " ", "user": "root"}
    ),
    "signing key unknown id": Case(
        "owner", "DELETE", "/auth/signing-keys/" + "f" * 24, None, None, (404,)
    ),
    "require-signatures a word": Case(
        "owner", "PATCH", "/devices/{ref}", {"require-signatures": "maybe"}
    ),
    "webhook url not a url": Case(
        "owner", "POST", "/webhooks", {"url": "nope", "events": ["*"], "secret": "s" * 16}
    ),
    "webhook url a list": Case(
        "owner", "POST", "/webhooks", {"url": [], "events": ["*"], "secret": "s" * 16}
    ),
    "webhook url loopback": Case(
        "owner",
        "POST",
        "/webhooks",
        {"url": "http://127.0.0.1/h", "events": ["*"], "secret": "s" * 16},
    ),
    "webhook url metadata service": Case(
        "owner",
        "POST",
        "/webhooks",
        {"url": "http://169.254.169.254/", "events": ["*"], "secret": "s" * 16},
    ),
    "webhook url with a password": Case(
        "owner",
        "POST",
        "/webhooks",
        {"url": "https://u:p@93.184.215.14/", "events": ["*"], "secret": "s" * 16},
    ),
    "webhook url bad port": Case(
        "owner",
        "POST",
        "/webhooks",
        {"url": "https://93.184.215.14:99999/", "events": ["*"], "secret": "s" * 16},
    ),
    "webhook event unknown": Case(
        "owner",
        "POST",
        "/webhooks",
        {"url": "https://93.184.215.14/", "events": ["boom"], "secret": "s" * 16},
    ),
    "webhook events a dict": Case(
        "owner",
        "POST",
        "/webhooks",
        {"url": "https://93.184.215.14/", "events": {}, "secret": "s" * 16},
    ),
    "webhook events empty": Case(
        "owner",
        "POST",
        "/webhooks",
        {"url": "https://93.184.215.14/", "events": [], "secret": "s" * 16},
    ),
    "webhook secret short": Case(
        "owner",
        "POST",
        "/webhooks",
        {"url": "https://93.184.215.14/", "events": ["*"], "secret": "s"},
    ),
    "webhook secret a number": Case(
        "owner",
        "POST",
        "/webhooks",
        {"url": "https://93.184.215.14/", "events": ["*"], "secret": 5},
    ),
    "webhook active a word": Case(
        "owner", "PATCH", "/webhooks/{webhook_id}", {"active": "sometimes"}
    ),
    "webhook patch url loopback": Case(
        "owner", "PATCH", "/webhooks/{webhook_id}", {"url": "http://[::1]/"}
    ),
    "webhook unknown id": Case("owner", "GET", "/webhooks/" + "f" * 24, None, None, (404,)),
    "webhook delivery number a word": Case(
        "owner", "POST", "/webhooks/{webhook_id}/deliveries/x/redeliver", None, None, (404,)
    ),
    "webhook delivery number huge": Case(
        "owner",
        "POST",
        "/webhooks/{webhook_id}/deliveries/" + "9" * 30 + "/redeliver",
        None,
        None,
        (404,),
    ),
    "webhook delivery number superscript": Case(
        "owner", "POST", "/webhooks/{webhook_id}/deliveries/²/redeliver", None, None, (404,)
    ),
    "webhook deliveries limit huge": Case(
        "owner", "GET", "/webhooks/{webhook_id}/deliveries?limit=" + "9" * 40, None
    ),
    "signup email bad": Case(
        "anonymous",
        "POST",
        "/auth/accounts",
        {"nick": "newbie", "email": "nope", "password": "correct horse battery staple"},
    ),
    "signup nick traversal": Case(
        "anonymous",
        "POST",
        "/auth/accounts",
        {"nick": "../x", "email": "x@example.com", "password": "correct horse battery staple"},
    ),
    "pack without a leader": Case("owner", "POST", "/packs", {"nick": "p2"}),
    "pack leader unknown": Case(
        "owner", "POST", "/packs", {"nick": "p2", "leader": "nobody"}, None, (400, 404)
    ),
    "pack canary share over 1": Case("owner", "PATCH", "/packs/{pack}", {"canary-share": 2}),
    "pack wave size negative": Case("owner", "PATCH", "/packs/{pack}", {"wave-size": -1}),
    "pack require-signatures a word": Case(
        "owner", "PATCH", "/packs/{pack}", {"require-signatures": "maybe"}
    ),
    "pack rule empty": Case("owner", "PATCH", "/packs/{pack}", {"rule": {}}),
    "pack rule unknown fact": Case("owner", "PATCH", "/packs/{pack}", {"rule": {"colour": ["x"]}}),
    "pack rule a bad version": Case("owner", "PATCH", "/packs/{pack}", {"rule": {"pantavisor": 1}}),
    "pack windows an object": Case("owner", "PATCH", "/packs/{pack}", {"windows": {"days": []}}),
    "pack window hour 25": Case(
        "owner",
        "PATCH",
        "/packs/{pack}",
        {"windows": [{"days": ["mon"], "from": "25:00", "to": "02:00"}]},
    ),
    "pack time zone unknown": Case("owner", "PATCH", "/packs/{pack}", {"timezone": "Mars/Base"}),
    "pack start a word": Case(
        "owner", "POST", "/packs", {"nick": "p2", "leader": "{ref}", "start-at": "soon"}
    ),
    "limit zero": Case("owner", "GET", "/trails/{ref}/steps?limit=0"),
    "audit action unknown": Case("owner", "GET", "/audit?action=token.made"),
    "audit since a word": Case("owner", "GET", "/audit?since=yesterday"),
    "audit since out of range": Case("owner", "GET", "/audit?since=2026-02-31"),
    "audit since a NUL": Case("owner", "GET", "/audit?since=2026%00"),
    "audit target too long": Case("owner", "GET", "/audit?target=" + "x" * 81),
    "audit page a huge number": Case("owner", "GET", "/audit?page=" + "9" * 40),
    "limit a word": Case("owner", "GET", "/objects?limit=many"),
    "after a word": Case("owner", "GET", "/trails/{ref}/steps?after=x"),
    "status filter broken": Case("owner", "GET", "/trails/{ref}/steps?progress.status={x"),
    "status filter unknown": Case("owner", "GET", "/trails/{ref}/steps?progress.status=BOGUS"),
    "explore sort unknown": Case("anonymous", "GET", "/community/devices?sort=recent"),
    "explore page zero": Case("anonymous", "GET", "/community/devices?page=0"),
    "explore page a superscript": Case("anonymous", "GET", "/community/devices?page=%C2%B2"),
    "explore page of a thousand digits": Case(
        "owner", "GET", "/community/devices?page=" + "9" * 1000
    ),
    "explore limit over the most": Case("owner", "GET", "/community/devices?limit=101"),
    "explore q too long": Case("anonymous", "GET", "/community/devices?q=" + "x" * 101),
    "explore signed a word": Case("anonymous", "GET", "/community/devices?signed=maybe"),
    "user devices page a word": Case("owner", "GET", "/community/users/alice/devices?page=x"),
    "user devices of nobody": Case(
        "owner", "GET", "/community/users/nobody/devices", None, None, (404,)
    ),
    "stargazers limit zero": Case("owner", "GET", "/devices/{ref}/stargazers?limit=0"),
    "forks page negative": Case("owner", "GET", "/devices/{ref}/forks?page=-1"),
    "fork nick with a slash": Case("owner", "POST", "/devices/{ref}/fork", {"nick": "a/b"}),
    "fork nick a list": Case("owner", "POST", "/devices/{ref}/fork", {"nick": ["x1"]}),
    "fork rev a word": Case("owner", "POST", "/devices/{ref}/fork", {"nick": "f1", "rev": "x"}),
    "fork rev past any": Case("owner", "POST", "/devices/{ref}/fork", {"nick": "f1", "rev": 2**63}),
    "fork into a path": Case(
        "owner", "POST", "/devices/{ref}/fork", {"into": "../x"}, None, (404,)
    ),
    "fork into a list": Case("owner", "POST", "/devices/{ref}/fork", {"into": []}),
    "upstream follow a word": Case("owner", "PUT", UPSTREAM, {"follow": "perhaps"}),
    "upstream follow missing": Case("owner", "PUT", UPSTREAM, {}),
    "upstream merge rev a word": Case("owner", "POST", UPSTREAM + "/merge", {"rev": "x"}),
    "upstream merge rev below -1": Case("owner", "POST", UPSTREAM + "/merge", {"rev": -2}),
    "proposal without from": Case("owner", "POST", PROPOSALS, {"title": "t"}),
    "proposal without title": Case("owner", "POST", PROPOSALS, {"from": "{lab}"}),
    "proposal title blank": Case("owner", "POST", PROPOSALS, {"from": "{lab}", "title": " "}),
    "proposal title too long": Case(
        "owner", "POST", PROPOSALS, {"from": "{lab}", "title": "x" * 201}
    ),
    "proposal title a list": Case("owner", "POST", PROPOSALS, {"from": "{lab}", "title": []}),
    "proposal body too long": Case(
        "owner", "POST", PROPOSALS, {"from": "{lab}", "title": "t", "body": "x" * 20001}
    ),
    "proposal rev a word": Case(
        "owner", "POST", PROPOSALS, {"from": "{lab}", "title": "t", "rev": "x"}
    ),
    "proposal rev negative": Case(
        "owner", "POST", PROPOSALS, {"from": "{lab}", "title": "t", "rev": -1}
    ),
    "proposal rev past any": Case(
        "owner", "POST", PROPOSALS, {"from": "{lab}", "title": "t", "rev": 2**40}
    ),
    "proposal from itself": Case("owner", "POST", PROPOSALS, {"from": "{ref}", "title": "t"}),
    "proposal from nowhere": Case(
        "owner", "POST", PROPOSALS, {"from": "no-such", "title": "t"}, None, (404,)
    ),
    "proposals status unknown": Case("owner", "GET", PROPOSALS + "?status=maybe"),
    "proposal number past any": Case(
        "owner", "GET", PROPOSALS + "/99999999999", None, None, (404,)
    ),
    "proposal comment blank": Case("owner", "POST", PROPOSALS + "/1/comments", {"body": ""}),
    "proposal comment a list": Case("owner", "POST", PROPOSALS + "/1/comments", {"body": ["x"]}),
    "proposal comment too long": Case(
        "owner", "POST", PROPOSALS + "/1/comments", {"body": "x" * 10001}
    ),
    "upstream merge state a list": Case("owner", "POST", UPSTREAM + "/merge", {"state": []}),
    "upstream merge parent-rev alone": Case(
        "owner", "POST", UPSTREAM + "/merge", {"parent-rev": 1}
    ),
    "star of a missing device": Case(
        "owner", "PUT", "/devices/" + "f" * 24 + "/star", None, None, (404,)
    ),
    "star with a path for a ref": Case(
        "owner", "DELETE", "/devices/..%2F..%2Fetc/star", None, None, (404,)
    ),
}


def test_it_refuses_wrong_field_types(api, world):
    problems = problems_of(api, world, FIELD_TYPES)
    assert not problems, "\n".join(problems)


TRAVERSAL = {
    "dot-dot": "../etc/passwd.json",
    "dot-dot inside": "app/../../x.json",
    "absolute": "/etc/passwd.json",
    "empty segment": "app//x.json",
    "NUL": "app/x\x00.json",
    "empty key": "",
    "backslash dot-dot": "..\\x.json",
    "dot segment": "./x.json",
}


def test_it_refuses_traversal_keys(api, world):
    cases = {}
    for name, key in TRAVERSAL.items():
        state = {"#spec": SPEC, key: {}}
        cases[f"post {name}"] = Case("owner", "POST", STEPS, {"state": state})
        cases[f"replace {name}"] = Case("owner", "PUT", "/trails/{ref}/steps/{rev}/state", state)
        cases[f"factory {name}"] = Case("sibling", "POST", "/trails", state)
    problems = problems_of(api, world, cases)
    assert not problems, "\n".join(problems)


def test_it_refuses_unknown_shas(api, world):
    cases = {
        "a state naming an object never uploaded": Case(
            "owner", "POST", STEPS, {"state": {"#spec": SPEC, "x/y.img": UNKNOWN_SHA}}, None, (409,)
        ),
        "a replaced state naming one": Case(
            "owner",
            "PUT",
            "/trails/{ref}/steps/{rev}/state",
            {"#spec": SPEC, "x/y.img": UNKNOWN_SHA},
            None,
            (409,),
        ),
        "an object": Case("owner", "GET", f"/objects/{UNKNOWN_SHA}", None, None, (404,)),
        "a blob": Case("owner", "GET", f"/objects/{UNKNOWN_SHA}/blob", None, None, (404,)),
        "not a sha at all": Case("owner", "GET", "/objects/..%2F..%2Fetc", None, None, (404,)),
        "deleting one": Case("owner", "DELETE", f"/objects/{UNKNOWN_SHA}", None, None, (404,)),
        "a step's object": Case(
            "owner",
            "GET",
            f"/trails/{{ref}}/steps/{{rev}}/objects/{UNKNOWN_SHA}",
            None,
            None,
            (404,),
        ),
        # Announcing a sha the step does not name is pvr's post (it announces the next
        # revision's objects at the head step's objects-endpoint: libpvr/repolib.go
        # postObjects), so it is not a bad input: test_pvr_wire.py covers it.
        "a revision that does not exist": Case(
            "owner", "GET", "/trails/{ref}/steps/99", None, None, (404,)
        ),
        "a revision that is not a number": Case(
            "owner", "GET", "/trails/{ref}/steps/x", None, None, (404,)
        ),
        "progress on a missing revision": Case(
            "device", "PUT", "/trails/{ref}/steps/99/progress", {"status": "QUEUED"}, None, (404,)
        ),
        "an export of a missing revision": Case(
            "owner", "GET", "/exports/alice/kiosk/99/kiosk.tar.gz", None, None, (404,)
        ),
        "an unsigned object URL": Case(
            "owner", "GET", "/local-s3/get.{sha}.1.x", None, None, (403,)
        ),
    }
    problems = problems_of(api, world, cases)
    assert not problems, "\n".join(problems)


def test_it_refuses_wrong_sizes_and_hashes(api, world):
    data = world.object_bytes
    sha = hashlib.sha256(data).hexdigest()
    cases = {
        "a size that contradicts the stored content": Case(
            "other user", "POST", "/objects", {"objectname": "o", "size": "1", "sha256sum": sha}
        ),
        "size and sizeint disagree": Case(
            "owner", "POST", "/objects", {**OBJECT, "size": "10", "sizeint": 11}
        ),
        "over the object size limit": Case(
            "owner", "POST", "/objects", {**OBJECT, "size": str(2**62)}, None, (413,)
        ),
    }
    problems = problems_of(api, world, cases)
    assert not problems, "\n".join(problems)
    # Uploads to a signed URL: too few, too many and wrong bytes are refused, nothing kept.
    fresh = b"0123456789"
    grant = api.as_(world.actors["owner"]).post(
        "/objects",
        {"objectname": "f", "size": "10", "sha256sum": hashlib.sha256(fresh).hexdigest()},
        format="json",
    )
    assert grant.status_code == 200
    url = grant.json()["signed-puturl"]
    before = stored()
    for body, status in ((fresh[:9], 400), (fresh + b"!", 413), (b"9876543210", 400)):
        answer = api.generic("PUT", url, body, "application/octet-stream")
        assert answer.status_code == status, answer.content
        assert answer.json()["code"] in ("size-mismatch", "sha-mismatch", "too-large")
        assert stored() == before


def test_it_refuses_statuses_out_of_order(api, world):
    """Along the main line, every status the device may not report next is a 409."""
    device = world.actors["device"]
    progress = f"/trails/{world.target.id}/steps/1/progress"
    for current in (st.NEW, st.QUEUED, st.DOWNLOADING, st.INPROGRESS, st.TESTING, st.DONE):
        if current != st.NEW:
            answer = api.as_(device).put(progress, {"status": current}, format="json")
            assert answer.status_code == 200, (current, answer.json())
        before = stored()
        refused = [s for s in st.STATUSES if s not in st.DEVICE_TRANSITIONS[current]]
        assert refused
        for status in refused:
            answer = api.as_(device).put(progress, {"status": status}, format="json")
            assert answer.status_code == 409, (current, status, answer.content)
            assert answer.json()["code"] and answer.json()["error"]
            assert stored() == before, (current, status)
        assert Step.objects.get(trail_id=world.target.id, rev=1).status == current
    # The owner cannot cancel what the device has finished.
    answer = api.as_(world.actors["owner"]).put(f"/trails/{world.target.id}/steps/1/cancel")
    assert answer.status_code == 409


def test_it_refuses_bad_oauth_requests(world):
    """The OAuth endpoints (portal/oauth.py, django-oauth-toolkit): each bad request is a
    4xx in OAuth's own words (RFC 6749 section 5.2 ``error``; a 400 page on the consent
    page when the app cannot be trusted with a redirect) and stores nothing."""
    from django.test import Client

    owner = world.actors["owner"]
    browser = Client()
    browser.force_login(owner)
    app = {"client_id": world.ids["client_id"], "redirect_uri": "https://app.example.com/cb"}
    challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 appendix B
    authorize = {
        **app,
        "response_type": "code",
        "scope": "devices:read",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    token = {**app, "grant_type": "authorization_code", "code": "nope", "code_verifier": "v" * 43}
    pages = {
        "unknown client": {**authorize, "client_id": "unknown"},
        "redirect uri not registered": {**authorize, "redirect_uri": "https://evil.example/cb"},
        "redirect uri not a uri": {**authorize, "redirect_uri": "javascript:alert(1)"},
        "no client": {k: v for k, v in authorize.items() if k != "client_id"},
    }
    posts = {
        "/oauth/token/": {
            "unknown client": {**token, "client_id": "unknown"},
            "unknown code": token,
            "no verifier": {k: v for k, v in token.items() if k != "code_verifier"},
            "verifier too short": {**token, "code_verifier": "short"},
            "no grant type": {k: v for k, v in token.items() if k != "grant_type"},
            "unknown grant type": {**token, "grant_type": "magic"},
            "password grant": {**app, "grant_type": "password", "username": "x", "password": "y"},
            "client credentials": {**app, "grant_type": "client_credentials"},
            "unknown refresh token": {**app, "grant_type": "refresh_token", "refresh_token": "x"},
        },
        "/oauth/revoke/": {"unknown client": {"token": "tho_x", "client_id": "unknown"}},
    }
    before = stored()
    problems = []
    for name, params in pages.items():
        with undone():
            answer = browser.get("/oauth/authorize/", params)
            if answer.status_code != 400:
                problems.append(f"authorize, {name}: {answer.status_code}")
    for path, cases in posts.items():
        for name, body in cases.items():
            with undone():
                answer = Client().post(path, body)
                if not 400 <= answer.status_code < 500 or not answer.json().get("error"):
                    problems.append(f"{path}, {name}: {answer.status_code} {answer.content[:200]}")
    with undone():
        answer = Client().post("/oauth/token/", json.dumps(token), "application/json")
        if not 400 <= answer.status_code < 500:
            problems.append(f"token as JSON: {answer.status_code}")
    assert stored() == before
    assert not problems, "\n".join(problems)
