"""`trail post` to a device someone else owns: refused before any upload, with the way on."""

from __future__ import annotations

import hashlib
import secrets

import httpx

from trail.tests.e2e.conftest import PASSWORD, Trail


def test_posting_to_a_device_you_do_not_own_uploads_nothing_and_suggests_forking(
    live, alice, trail, start_device, tmp_path, capsys, monkeypatch
):
    device = start_device()
    made_public = httpx.put(
        f"{live.url}/devices/{device.id}/public",
        headers={"Authorization": f"Bearer {alice.token}"},
    )
    assert made_public.status_code == 200, made_public.text
    live.signup("bob", PASSWORD)
    bob = Trail(live, tmp_path / "bob-config", capsys, monkeypatch)
    bob("login", "--username", "bob", "--password-stdin", stdin=PASSWORD + "\n")
    bob("clone", f"alice/{device.nick}", "kiosk", cwd=tmp_path)
    wc = tmp_path / "kiosk"
    content = f"bob's kiosk {secrets.token_hex(16)}\n".encode()
    (wc / "_config/pv-avahi/etc/hostname").write_bytes(content)
    bob("commit", "-m", "mine now", cwd=wc)

    refused = bob("post", cwd=wc, ok=False)

    assert refused.code == 1
    assert f"alice/{device.nick} is alice's device: only alice" in refused.err
    assert "nothing was uploaded" in refused.err
    assert f"{live.url}/u/alice/{device.nick}/ and press Fork" in refused.err
    sha = hashlib.sha256(content).hexdigest()
    assert not [p for p in live.objects_dir.rglob("*") if sha in p.name]
    rev_1 = httpx.get(
        f"{live.url}/trails/{device.id}/steps/1",
        headers={"Authorization": f"Bearer {alice.token}"},
    )
    assert rev_1.status_code == 404
