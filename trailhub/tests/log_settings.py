"""The live hub's settings (testsupport/hub_settings.py) with one route more: a
view that fails, so that test_logging can see what a server error logs."""

from testsupport.hub_settings import *  # noqa: F403

ROOT_URLCONF = "trailhub.tests.log_urls"
