"""Fixtures for the portal's tests."""

import pytest


@pytest.fixture
def broker_configured():
    """This process's Celery app sends tasks to a broker (so a worker is expected).

    Only the app's mode changes: the tests using it queue nothing.
    """
    from trailhub.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = before
