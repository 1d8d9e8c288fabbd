"""A server process loads its views when it starts, not in its first request."""

import os
import subprocess
import sys

import pytest

from trailhub.tests.test_settings import _ALL_VARS, ROOT

PROBE = (
    "import sys; import {entry}; "
    "print(all(m in sys.modules for m in ('devices.api.views', 'community.views', "
    "'revisions.api.poll', 'rest_framework.negotiation')))"
)


@pytest.mark.parametrize("entry", ["trailhub.wsgi", "trailhub.asgi"])
def test_the_entry_points_import_every_view_at_start(tmp_path, entry):
    env = {k: v for k, v in os.environ.items() if k not in _ALL_VARS}
    env.update(DJANGO_SETTINGS_MODULE="trailhub.settings", TRAILHUB_VAR_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(entry=entry)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"
