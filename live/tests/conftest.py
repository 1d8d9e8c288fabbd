"""The community tests' fixtures of devices with revisions, shared here."""

from community.tests.conftest import add_step, public_device  # noqa: F401
