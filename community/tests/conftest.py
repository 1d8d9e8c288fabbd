"""Fixtures for the community tests: devices with revisions, made directly in the database."""

from __future__ import annotations

import pytest
from django.utils import timezone

from revisions.models import Step, Trail
from trail import status as st
from trail.canonical import state_sha

SHA_A = "a" * 64
SHA_B = "b" * 64
#: The bytes of the objects of ``kiosk``'s revisions.
KERNEL = b"kernel bytes"
ROOTFS = b"root filesystem bytes"


def sample_state(n: int = 0, platform: str = "awconnect") -> dict:
    """A small but real-looking state; ``n`` changes one JSON value and one object."""
    return {
        "#spec": "pantavisor-service-system@1",
        "bsp/run.json": {"addons": [], "linux": "kernel.img"},
        "bsp/kernel.img": SHA_A,
        f"{platform}/run.json": {"name": platform, "#spec": "service-manifest-run@1", "n": n},
        f"{platform}/root.squashfs": f"{n:064x}",
        "_config/awconnect/etc/hosts": SHA_B,
        "device.json": {"hello": "world"},
    }


@pytest.fixture
def add_step(db):
    """``add_step(device, state=None, status=DONE, author=None, msg="")``: the next revision.

    Writes the rows the revisions service would write; the community pages only read them.
    """

    def add(device, state=None, status=st.DONE, author=None, msg="", rev=None):
        trail, _ = Trail.objects.get_or_create(device=device)
        rev = trail.head_rev + 1 if rev is None else rev
        state = state if state is not None else sample_state(rev)
        step = Step.objects.create(
            trail=trail,
            rev=rev,
            commit_msg=msg or f"revision {rev}",
            state=state,
            state_sha=state_sha(state),
            author=author,
            status=status,
            progress=100 if st.is_final(status) else 0,
        )
        Trail.objects.filter(pk=trail.pk).update(head_rev=rev, last_touched=timezone.now())
        return step

    return add


@pytest.fixture
def public_device(owner, make_device):
    return make_device(owner, nick="kiosk", public=True, description="A public kiosk")


@pytest.fixture
def uploaded_state(db):
    """``uploaded_state(owner, {key: bytes})``: a valid state whose objects ``owner`` uploaded.

    The bytes go through the revisions service's upload path, as from the API.
    """
    import hashlib
    import io

    from revisions.services.objects import receive_upload, request_upload

    def make(owner, objects: dict[str, bytes], **json_keys) -> dict:
        state = {"#spec": "pantavisor-service-system@1", "bsp/run.json": {"addons": []}}
        state.update(json_keys)
        for key, data in objects.items():
            sha = hashlib.sha256(data).hexdigest()
            grant = request_upload(owner, sha, len(data), key)
            if grant.kind == "pending":
                receive_upload(grant.id, sha, len(data), io.BytesIO(data), len(data))
            state[key] = sha
        return state

    return make


@pytest.fixture
def kiosk(owner, public_device, uploaded_state):
    """alice/kiosk (public) with rev 0 and 1 (DONE), posted through the revisions service,
    its objects uploaded."""
    from revisions.services.steps import create_trail, post_step, report_progress

    create_trail(public_device, uploaded_state(owner, {"bsp/kernel.img": KERNEL}))
    state = uploaded_state(
        owner, {"bsp/kernel.img": KERNEL, "app/root.squashfs": ROOTFS}, **{"app/run.json": {}}
    )
    step = post_step(public_device.trail, state, author=owner, commit_msg="add the app")
    report_progress(step, st.DONE, progress=100)
    return public_device


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``committed(fn, *args)``: run ``fn``, then what it left for after the commit (the
    step signals, the tasks they queue), as a real transaction would."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run
