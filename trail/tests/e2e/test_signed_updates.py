"""A device that requires signatures, end to end: the hub takes a revision signed by a
key the owner trusts and the agent installs it; a revision changed in the hub's database
after it was posted is refused by the agent before install (WONTGO, with the reason)."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from testsupport.live import REPO, wait_for
from trail.signatures import sign, state_match
from trail.signatures.keys import new_development_key
from trail.tests.e2e.conftest import post_state, step_of, wait_status

pytestmark = pytest.mark.e2e


def call(live, token: str, method: str, path: str, body: dict) -> httpx.Response:
    return httpx.request(
        method, live.url + path, json=body, headers={"Authorization": f"Bearer {token}"}
    )


def signed(state: dict, key, cert) -> dict:
    unsigned = {k: v for k, v in state.items() if not k.startswith("_sigs/")}
    return {**unsigned, "_sigs/all.json": sign(unsigned, state_match("all"), key, [cert])}


def tamper(live, device_id: str, rev: int) -> None:
    """Change the stored state of a posted revision behind the hub's back, as someone
    with the database would, keeping its state-sha consistent."""
    code = f"""
from revisions.models import Step
from trail.state import state_sha
step = Step.objects.get(trail_id={device_id!r}, rev={rev})
state = dict(step.state)
state["trail-agent/note.json"] = {{"n": 666}}
Step.objects.filter(pk=step.pk).update(state=state, state_sha=state_sha(state))
"""
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=REPO, env=live.env, check=True
    )


def test_it_installs_a_signed_revision_and_refuses_one_tampered_after_posting(
    live, alice, start_device
):
    key, cert = new_development_key("ec", "release signer")
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    device = start_device("strict")
    assert call(
        live, alice.token, "POST", "/auth/signing-keys", {"name": "ci", "pem": pem}
    ).is_success
    patched = call(
        live, alice.token, "PATCH", f"/devices/{device.id}", {"require-signatures": True}
    )
    assert patched.json()["require-signatures"] is True
    factory = step_of(live, alice.token, device.id, 0)["state"]

    # Unsigned: the hub refuses it, and takes no number.
    refused = call(
        live,
        alice.token,
        "POST",
        f"/trails/{device.id}/steps",
        {"rev": -1, "commit-msg": "unsigned", "state": {**factory, "extra.json": {}}},
    )
    assert refused.status_code == 422 and refused.json()["code"] == "unsigned"

    good = signed({**factory, "trail-agent/note.json": {"n": 1}}, key, cert)
    assert post_state(live, alice.token, device.id, good, "signed") == 1
    wait_status(live, alice.token, device.id, 1, "DONE")
    wait_for("the device to run rev 1", lambda: device.current() == 1)

    device.agent.stop()
    second = signed({**factory, "trail-agent/note.json": {"n": 2}}, key, cert)
    assert post_state(live, alice.token, device.id, second, "signed again") == 2
    tamper(live, device.id, 2)
    device.agent.start()

    step = wait_status(live, alice.token, device.id, 2, "WONTGO")
    message = step["progress"]["status-msg"]
    assert message.startswith("signatures refused:")
    assert "_sigs/all.json is bad-signature" in message
    assert "not signed by a trusted signer: " in message
    assert device.current() == 1
    assert not (device.home / "trails/2").exists()
    assert json.loads((device.home / "agent-state.json").read_text())["running"] == 1
