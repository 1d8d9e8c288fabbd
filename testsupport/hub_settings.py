"""Settings for the tests' live hub (testsupport.live.LiveHub): the real ones, with a fast
password hasher (as every other test in the project uses), because each test
registers devices and logs in several times and the production hasher is slow
on purpose."""

from trailhub.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
