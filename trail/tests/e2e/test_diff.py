"""`trail diff` on a working copy cloned from a live hub, before and after a commit."""

from __future__ import annotations

import json

import pytest

from trail.tests.e2e.conftest import tree_files, wait_status

pytestmark = pytest.mark.e2e

HOSTNAME = "_config/pv-avahi/etc/hostname"
PASSWD = "_config/pv-avahi/etc/passwd"
LXC = "pv-avahi/lxc.container.conf"

# What the edits below come to, as `trail diff` shows them (the built-in factory
# device of trail/agent/factory.py is the "before").
EXPECTED = f"""\
diff --trail a/{HOSTNAME} b/{HOSTNAME}
--- a/{HOSTNAME}
+++ b/{HOSTNAME}
@@ -1 +1 @@
-trail-device
+kiosk
diff --trail a/{PASSWD} b/{PASSWD}
--- /dev/null
+++ b/{PASSWD}
@@ -0,0 +1 @@
+root:x:0:0:root:/root:/bin/sh
diff --trail a/bsp/run.json b/bsp/run.json
--- a/bsp/run.json
+++ b/bsp/run.json
@@ -1,5 +1,7 @@
 {{
-  "addons": [],
+  "addons": [
+    "overlay"
+  ],
   "firmware": "firmware.squashfs",
   "initrd": "pantavisor",
   "linux": "kernel.img",
diff --trail a/{LXC} b/{LXC}
--- a/{LXC}
+++ b/{LXC}
@@ -1,2 +1,3 @@
 lxc.uts.name = pv-avahi
 lxc.tty.max = 0
+lxc.mount.entry = /data\tdata none bind 0 0
"""


def test_diff_shows_what_a_commit_records_then_what_a_post_sends(
    live, alice, trail, start_device, tmp_path
):
    device = start_device()
    trail("clone", f"alice/{device.nick}", "wc", cwd=tmp_path)
    wc = tmp_path / "wc"
    assert trail("diff", cwd=wc).out == ""
    (wc / HOSTNAME).write_text("kiosk\n")
    # ":x:" is text, not an emoji code; a tab stays a tab.
    (wc / PASSWD).write_text("root:x:0:0:root:/root:/bin/sh\n")
    trail("add", PASSWD, cwd=wc)
    with open(wc / LXC, "a") as f:
        f.write("lxc.mount.entry = /data\tdata none bind 0 0\n")
    # Laid out on one line: the diff shows the values that changed, as the state holds them.
    run = json.loads((wc / "bsp/run.json").read_text())
    (wc / "bsp/run.json").write_text(json.dumps({**run, "addons": ["overlay"]}))
    untracked = wc / "notes.txt"
    untracked.write_text("not part of the state\n")

    assert trail("diff", cwd=wc).out == EXPECTED
    assert trail("diff", "--remote", cwd=wc).out == ""  # nothing committed yet

    trail("commit", "-m", "a kiosk", cwd=wc)
    assert trail("diff", cwd=wc).out == ""
    assert trail("diff", "--remote", cwd=wc).out == EXPECTED  # HEAD against rev 0

    trail("post", cwd=wc)
    assert trail("diff", "--remote", cwd=wc).out == ""
    wait_status(live, alice.token, device.id, 1, "DONE")
    installed = tree_files(device.home / "trails/1")
    assert installed[PASSWD] == b"root:x:0:0:root:/root:/bin/sh\n"
    assert "notes.txt" not in installed
