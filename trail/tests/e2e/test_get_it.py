"""The device page's "get it" command works as it is copied: no login, no TRAIL_HUB."""

from __future__ import annotations

import html
import re
import shlex

import httpx
import pytest

from trail.tests.e2e.conftest import Trail, tree_files

pytestmark = pytest.mark.e2e

COMMAND = re.compile(r'<code id="clone-command" data-field="clone-command">([^<]*)</code>')


def test_the_clone_command_on_a_public_devices_page_clones_it_anonymously(
    live, alice, start_device, tmp_path, capsys, monkeypatch
):
    device = start_device()
    httpx.put(
        f"{live.url}/devices/{device.id}/public",
        headers={"Authorization": f"Bearer {alice.token}"},
    ).raise_for_status()
    page = httpx.get(f"{live.url}/u/alice/{device.nick}/")  # nobody logged in
    assert page.status_code == 200
    argv = shlex.split(html.unescape(COMMAND.search(page.text).group(1)))
    assert argv == ["trail", "clone", "--hub", live.url, f"alice/{device.nick}"]

    stranger = Trail(live, tmp_path / "stranger", capsys, monkeypatch)  # never logged in
    monkeypatch.delenv("TRAIL_HUB")
    (tmp_path / "here").mkdir()
    out = stranger(*argv[1:], cwd=tmp_path / "here").out
    assert out.startswith(f"cloned alice/{device.nick} rev 0 into {device.nick}")
    cloned = tree_files(tmp_path / "here" / device.nick)
    assert cloned == tree_files(device.home / "trails" / "0")
