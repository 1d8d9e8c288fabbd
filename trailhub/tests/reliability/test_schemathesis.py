"""Schemathesis over ``/api/schema/``: generated requests to every operation, and every
answer is one the schema promises: no server error, a documented status code, the
documented content type, a body that matches the documented schema.

Bounded so that it fits in CI: a few dozen examples per operation, a fixed seed
(``derandomize``), no deadline per example. Path parameters name the world's
real device, revision, object, token and pack (random ones only find 404s),
and each operation is called as someone the authorisation matrix lets call
it, so that the bodies and queries reach the code behind the permission
checks.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from portal.auth import issue_token
from trailhub.tests.reliability.test_bad_input import caller_of
from trailhub.wsgi import application

pytestmark = [pytest.mark.django_db]

EXAMPLES = 30
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


# Loaded at collection (pytest-django has set Django up by then): the schema as it is served.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture
def _keep_the_test_connection():
    """Requests go to the WSGI handler itself, which closes the database connection after
    each one (Django's test client stops it from doing so); the test's transaction lives on it."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_its_schema_says(case, world, _keep_the_test_connection):
    # The operation's own method: schemathesis also tries others on its path (TRACE, …).
    operation = f"{case.operation.method.upper()} {case.operation.path}"
    subject = world.actors[caller_of(operation)]
    for name in case.path_parameters or {}:
        if name in world.ids:
            case.path_parameters[name] = world.ids[name]
    headers = {"Authorization": f"Bearer {issue_token(subject)}"} if subject else {}
    case.call_and_validate(headers=headers, checks=CHECKS)
