"""End to end: an image in a registry becomes a platform, is posted, and a
device (trail-agent) installs it."""

from __future__ import annotations

import pytest

from testsupport.live import wait_for
from trail.apps.platform import platforms_of
from trail.objects import sha256_file
from trail.tests.apps.images import demo_image, push
from trail.tests.e2e.conftest import wait_status

pytestmark = pytest.mark.e2e


def test_a_posted_app_is_installed_by_the_device(
    live,
    alice,
    trail,
    start_device,
    registry,
    tmp_path,
):
    image = demo_image()
    push(registry.url, "fleet/web", "2.0", image)
    device = start_device()
    trail("clone", f"alice/{device.nick}", "wc", cwd=tmp_path)
    wc = tmp_path / "wc"

    added = trail(
        "app", "add", "web", "--from", f"{registry.host}/fleet/web:2.0", "--insecure", cwd=wc
    )
    assert "A web/root.squashfs" in added.out
    trail("commit", "-m", "add the web platform", cwd=wc)
    trail("post", cwd=wc)

    step = wait_status(live, alice.token, device.id, 1, "DONE")
    wait_for("the device to run rev 1", lambda: device.current() == 1)
    installed = device.home / "trails/1/web/root.squashfs"
    assert sha256_file(installed) == sha256_file(wc / "web/root.squashfs")
    assert step["state"]["web/root.squashfs"] == sha256_file(installed)
    web = next(p for p in platforms_of(step["state"]) if p["name"] == "web")
    assert web == {
        "name": "web",
        "image": f"{registry.host}/fleet/web",
        "tag": "2.0",
        "digest": image.digest,
        "platform": "linux/amd64",
    }
