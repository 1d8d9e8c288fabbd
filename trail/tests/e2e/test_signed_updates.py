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


def test_platforms_signed_with_trail_install_and_every_unsigned_change_is_refused(
    live, alice, start_device, trail, tmp_path
):
    """The issue's walk-through (docs/signing.md): `trail keygen`, `trail sig add --part`
    for each platform (as `pvr sig add --part`), the owner trusts the certificate, the
    device requires signatures; the hub takes the signed post and trail-agent installs it.
    A signed object changed afterwards and an unsigned change are each refused twice:
    by the hub at `trail post` (422, nothing stored) and, when they reach the device
    behind the hub's back, by the agent before install (WONTGO with the reason)."""
    device = start_device("walk")
    trail("keygen", "--cn", "release signer")
    cert = (trail.config / "pvs" / "cacerts.default.pem").read_text()
    assert call(live, alice.token, "POST", "/auth/signing-keys", {"name": "ca", "pem": cert})
    patched = call(
        live, alice.token, "PATCH", f"/devices/{device.id}", {"require-signatures": True}
    )
    assert patched.json()["require-signatures"] is True

    trail("clone", f"alice/{device.nick}", "wc", cwd=tmp_path)
    wc = tmp_path / "wc"
    trail("sig", "add", "--part", "bsp", cwd=wc)
    trail("sig", "add", "--part", "pv-avahi", cwd=wc)
    trail("sig", "add", "--name", "rest", "--include", "device.json", cwd=wc)
    assert trail("sig", "ls", "--strict", cwd=wc).code == 0
    trail("commit", "-m", "signed platforms", cwd=wc)
    assert "posted rev 1" in trail("post", cwd=wc).out
    wait_status(live, alice.token, device.id, 1, "DONE")
    wait_for("the device to run rev 1", lambda: device.current() == 1)

    # A signed object changed after signing: refused at post, nothing stored.
    (wc / "_config/pv-avahi/etc/hostname").write_text("changed after signing\n")
    trail("commit", "-m", "tampered", cwd=wc)
    tampered = trail("post", cwd=wc, ok=False)
    assert tampered.code == 1
    said = tampered.err + tampered.out
    assert "this device requires signatures" in said
    assert "_sigs/pv-avahi.json is bad-signature" in said
    missing = httpx.get(
        f"{live.url}/trails/{device.id}/steps/2",
        headers={"Authorization": f"Bearer {alice.token}"},
    )
    assert missing.status_code == 404

    # Signed again, it goes.
    trail("sig", "update", "pv-avahi", cwd=wc)
    trail("commit", "-m", "signed again", cwd=wc)
    assert "posted rev 2" in trail("post", cwd=wc).out
    wait_status(live, alice.token, device.id, 2, "DONE")

    # An unsigned change (a key no signature covers, the others intact): refused at post.
    (wc / "extra.json").write_text('{"unsigned": true}\n')
    trail("add", "extra.json", cwd=wc)
    trail("commit", "-m", "unsigned", cwd=wc)
    unsigned = trail("post", cwd=wc, ok=False)
    said = unsigned.err + unsigned.out
    assert unsigned.code == 1
    assert "not signed by a trusted signer: extra.json" in said
    assert "bad-signature" not in said

    # Both again behind the hub's back, in its database: the agent refuses them.
    good = step_of(live, alice.token, device.id, 2)["state"]
    device.agent.stop()
    assert post_state(live, alice.token, device.id, good, "object swapped later") == 3
    assert post_state(live, alice.token, device.id, good, "key added later") == 4
    rewrite(live, device.id, 3, {"bsp/kernel.img": good["pv-avahi/root.squashfs"]})
    rewrite(live, device.id, 4, {"extra.json": {"unsigned": True}})
    device.agent.start()

    swapped = wait_status(live, alice.token, device.id, 3, "WONTGO")["progress"]["status-msg"]
    assert swapped.startswith("signatures refused:")
    assert "_sigs/bsp.json is bad-signature" in swapped
    added = wait_status(live, alice.token, device.id, 4, "WONTGO")["progress"]["status-msg"]
    assert added.startswith("signatures refused:")
    assert "not signed by a trusted signer: extra.json" in added
    assert "bad-signature" not in added
    assert device.current() == 2


def rewrite(live, device_id: str, rev: int, changes: dict) -> None:
    """Change keys of a posted revision's stored state behind the hub's back, keeping
    its state-sha consistent (as someone with the database would)."""
    code = f"""
from revisions.models import Step
from trail.state import state_sha
step = Step.objects.get(trail_id={device_id!r}, rev={rev})
state = {{**step.state, **{changes!r}}}
Step.objects.filter(pk=step.pk).update(state=state, state_sha=state_sha(state))
"""
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=REPO, env=live.env, check=True
    )
