import pytest

from trail.tests import wire


@pytest.fixture(autouse=True)
def _stop_wire_servers():
    """Servers a test started with :func:`trail.tests.wire.serve` end with it."""
    yield
    wire.stop_all()
