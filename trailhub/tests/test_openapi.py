"""/api/docs/: every operation tells a reader what it is, what it does and what it looks like.

The schema is the one the docs page serves, generated as ``/api/schema/`` does.
A view that loses its ``extend_schema`` summary, description or examples (or a
new view that never had them) fails here by name.
"""

from __future__ import annotations

import copy

import pytest
from drf_spectacular.generators import SchemaGenerator

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema) -> list[tuple[str, str, dict]]:
    return [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def examples_of(operation: dict) -> list[dict]:
    bodies = [operation.get("requestBody", {})] + list(operation.get("responses", {}).values())
    return [
        example
        for body in bodies
        for media in body.get("content", {}).values()
        for example in media.get("examples", {}).values()
    ]


def undocumented(schema) -> list[str]:
    """``"<METHOD> <path>: <what is missing>"`` for each operation that lacks something."""
    missing = []
    for method, path, operation in operations(schema):
        if not operation.get("summary", "").strip():
            missing.append(f"{method} {path}: no summary")
        description = operation.get("description", "").strip()
        if not description:
            missing.append(f"{method} {path}: no description")
        shared = [
            other.upper()
            for other, sibling in schema["paths"][path].items()
            if other in METHODS
            and other != method.lower()
            and sibling.get("description", "").strip() == description
        ]
        if description and shared:
            missing.append(f"{method} {path}: the same description as {', '.join(shared)}")
        if not examples_of(operation):
            missing.append(f"{method} {path}: no example")
    return missing


def test_it_documents_every_operation(schema):
    assert len(operations(schema)) > 60  # the whole API, not an empty schema
    assert undocumented(schema) == []


def test_it_names_an_operation_that_lost_its_documentation(schema):
    """The check above is not vacuous: strip one operation and it is named."""
    stripped = copy.deepcopy(schema)
    devices = stripped["paths"]["/devices"]
    del devices["get"]["summary"]
    devices["get"]["description"] = devices["post"]["description"]
    for response in devices["post"]["responses"].values():
        for media in response.get("content", {}).values():
            media.pop("examples", None)
    for media in devices["post"].get("requestBody", {}).get("content", {}).values():
        media.pop("examples", None)
    assert undocumented(stripped) == [
        "GET /devices: no summary",
        "GET /devices: the same description as POST",
        "POST /devices: the same description as GET",
        "POST /devices: no example",
    ]


def test_summaries_are_short_lines(schema):
    """A summary is what a reader scans in the list: one line, no full stop."""
    for method, path, operation in operations(schema):
        summary = operation["summary"]
        assert len(summary) <= 60 and "\n" not in summary, (method, path, summary)
        assert not summary.endswith("."), (method, path, summary)
