"""A state the hub accepts is a tree every client installs inside its folder.

A public device's revision reaches other people's disks: `trail clone` writes
it as a working copy, `trail-agent` installs it into a revision directory.
Both go through :func:`trail.tree.write_tree`, which validates the state as
the hub does (:func:`trail.state.validate_state`). The fuzz below draws
hostile keys (climbing segments, control folders in any case, Unicode twins,
bidi controls, files that are also folders) and checks the one promise that
matters: whatever validation lets through is written strictly inside the
root, never into a folder that tools run code from; what it refuses, the
hub refuses too, with a 400 and nothing stored.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from revisions import services as revisions
from revisions.models import Step
from trail.objects import ObjectStore
from trail.state import SPEC_KEY, StateError, is_executed, validate_state
from trail.tree import write_tree

pytestmark = pytest.mark.reliability

SPEC = "pantavisor-service-system@1"
HOSTILE_SEGMENTS = [
    "..", ".", "", ".git", ".GIT", ".git.", ".git ", ".envrc", ".vscode", ".trail", ".pvr",
    "caf\u00e9", "cafe\u0301", "a\u202eb", "a\x00b", "a\nb", "a\\..", "/", "~", "con", "a b",
    "app", "bsp", "run.json", "x",
]  # fmt: skip
segment = st.one_of(st.sampled_from(HOSTILE_SEGMENTS), st.text(min_size=1, max_size=6))
key = st.lists(segment, min_size=1, max_size=4).map("/".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(keys=st.lists(key, min_size=1, max_size=6, unique=True))
def test_whatever_validation_accepts_is_written_inside_the_root(keys):
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        store = ObjectStore(base / "store")
        sha = store.add_bytes(b"payload")
        state = {SPEC_KEY: SPEC}
        for k in keys:
            state[k] = {"v": 1} if k.endswith(".json") else sha
        try:
            validate_state(state)
        except StateError:
            with pytest.raises(StateError):
                write_tree(state, base / "root", store)  # a client refuses it as well
            return
        root = base / "root"
        write_tree(state, root, store)
        written = []
        for dirpath, dirnames, filenames in os.walk(base):
            for name in [*dirnames, *filenames]:
                path = Path(dirpath) / name
                if path.is_relative_to(base / "store"):
                    continue
                assert path.resolve().is_relative_to(root.resolve()), path
                assert not is_executed(name), path
                if path.is_file():
                    written.append(path.relative_to(root).as_posix())
        assert sorted(written) == sorted(k for k in state if k != SPEC_KEY)


@pytest.mark.parametrize(
    "hostile",
    [
        {".git/config.json": {"core": {"fsmonitor": "touch /tmp/pwned"}}},
        {".git/HEAD": "a" * 64},
        {".Git/hooks/post-checkout": "a" * 64},
        {".envrc": "a" * 64},
        {"caf\u00e9.json": {}, "cafe\u0301.json": {}},
        {"app/run\u202egpj.json": {}},
        {".trail/config.json": {}},
        {"app.json": {}, "app.json/x.json": {}},
    ],
)
def test_the_hub_refuses_a_revision_no_client_could_install(hostile, api, owner, device):
    """Security review, item 2: such a revision was stored and then written by `trail clone`."""
    revisions.create_trail(device, {SPEC_KEY: SPEC, "app.json": {}})
    before = Step.objects.filter(trail_id=device.id).count()
    state = {SPEC_KEY: SPEC, **hostile}
    answer = api.as_(owner).post(
        f"/trails/{device.id}/steps", {"rev": -1, "commit-msg": "x", "state": state}, format="json"
    )
    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == "bad-key"
    assert Step.objects.filter(trail_id=device.id).count() == before
