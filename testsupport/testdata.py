"""Where the test data lives (``testdata/`` at the top of the repository, read by the
clients' tests and the server's): copies of /work/shared/testdata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[1] / "testdata"
STATES = DATA / "states"


def read_state(name: str) -> dict[str, Any]:
    """One of the real states under ``testdata/states/``, parsed."""
    return json.loads((STATES / name).read_text(encoding="utf-8"))
