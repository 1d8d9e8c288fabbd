"""Where the test data lives: copies of /work/shared/testdata, kept in the repository."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
STATES = DATA / "states"


def read_state(name: str) -> dict[str, Any]:
    """One of the real states under ``data/states/``, parsed."""
    return json.loads((STATES / name).read_text(encoding="utf-8"))
