"""The public pages in a real browser (issue 21 items 7 and 8, and the polish), with the
screenshots a reviewer looks at: home, explore, device overview, revisions, diff, file view.

No trail-agent: two people's devices are written through the services in a
``manage.py shell`` against the live hub's database, as packs/tests/browser does.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from community.tests.browser.conftest import PASSWORD, shell

pytestmark = pytest.mark.e2e

HOSTILE = '<script>alert("motd")</script> <img src=x onerror=alert(1)>'

#: olga's public kiosk (three revisions, two platforms, a board and an architecture she
#: publishes), paul's public gateway (its board published, its architecture not), and
#: paul's fork of the kiosk into a private device.
SEED = """
import hashlib, io
from django.contrib.auth import get_user_model
from django.utils import timezone
from community import services as community
from devices.models import Device, new_secret
from revisions import services as revisions
from trail import status as st

people = {user.username: user for user in get_user_model().objects.all()}
olga, paul = people["olga"], people["paul"]

def upload(owner, data):
    sha = hashlib.sha256(data).hexdigest()
    grant = revisions.request_upload(owner, sha, len(data))
    if grant.kind == "pending":
        revisions.receive_upload(grant.id, sha, len(data), io.BytesIO(data), len(data))
    return sha

def device(owner, nick, **fields):
    made = Device(owner=owner, nick=nick, public=True, last_seen=timezone.now(), **fields)
    made.set_secret(new_secret())
    made.save()
    return made

def platform(owner, name, image, conf):
    return {
        f"{name}/run.json": {"#spec": "service-manifest-run@1", "name": name, "type": "lxc",
            "config": "lxc.container.conf", "root-volume": "root.squashfs"},
        f"{name}/src.json": {"#spec": "service-manifest-src@1", "docker_name": image,
            "docker_tag": "latest", "docker_digest": image + "@sha256:" + "ab" * 32},
        f"{name}/lxc.container.conf": upload(owner, conf.encode()),
        f"{name}/root.squashfs": upload(owner, b"hsqs" + name.encode() + bytes(200)),
    }

def state(owner, hostname, motd, kernel, conf, **extra):
    return {
        "#spec": "pantavisor-service-system@1",
        "bsp/run.json": {"addons": [], "initrd": "pantavisor", "linux": "kernel.img"},
        "bsp/kernel.img": upload(owner, kernel),
        **platform(owner, "pv-avahi", "registry.gitlab.com/pantacor/pv-platforms/pv-avahi", conf),
        **platform(owner, "awconnect", "registry.gitlab.com/pantacor/pv-platforms/wifi-connect",
                   "lxc.uts.name = awconnect\\nlxc.tty.max = 0\\n"),
        "_config/pv-avahi/etc/hostname": upload(owner, hostname),
        "_config/awconnect/etc/motd": upload(owner, motd),
        "_config/awconnect/etc/notes-été.txt": upload(owner, b"first notes\\n"),
        "device.json": {"groups": ["kiosks"]},
        **extra,
    }

CONF = "lxc.uts.name = pv-avahi\\nlxc.tty.max = 0\\nlxc.pty.max = 1024\\nlxc.cap.drop = sys_module\\n"
kiosk = device(olga, "kiosk", description="A lobby kiosk: avahi and a Wi-Fi setup portal.",
    device_meta={"pantavisor.dtmodel": "Raspberry Pi 4 Model B Rev 1.4",
                 "pantavisor.arch": "aarch64/64/EL", "interfaces": {"wlan0": "canary-private"}},
    public_facts=["board", "arch"])
trail = revisions.create_trail(kiosk, state(olga, b"kiosk\\n", HOSTILE, b"\\0kernel 6.1", CONF))
rev1 = revisions.post_step(trail, state(olga, b"kiosk\\n", HOSTILE, b"\\0kernel 6.6", CONF),
    commit_msg="kernel 6.6", author=olga)
revisions.report_progress(rev1, st.DONE, progress=100)
conf2 = CONF.replace("1024", "2048") + "lxc.mount.entry = /data data none bind 0 0\\n"
rev2 = revisions.post_step(trail, state(olga, b"lobby\\n", HOSTILE, b"\\0kernel 6.6.1", conf2,
    **{"device.json": {"groups": ["kiosks", "lobby"]}}), commit_msg="Call it lobby", author=olga)
revisions.report_progress(rev2, st.DONE, progress=100)

gateway = device(paul, "gateway", description="Paul's home gateway.",
    device_meta={"pantavisor.dtmodel": "Raspberry Pi 5 Model B", "pantavisor.arch": "x86_64/64/EL"},
    public_facts=["board"])
revisions.create_trail(gateway, state(paul, b"gw\\n", b"hi\\n", b"\\0kernel", CONF))
community.star(paul, kiosk)
fork = community.fork(paul, kiosk, rev2, nick="my-kiosk")
""".replace("HOSTILE", repr(HOSTILE.encode()))


@pytest.fixture(scope="module")
def seeded(hub):
    for nick in ("olga", "paul"):
        hub.signup(nick, PASSWORD)
    shell(hub, SEED)
    return f"{hub.url}/u/olga/kiosk/"


def no_dialogs(page) -> None:
    """Hostile file content must never run: any alert() fails the test."""

    def fail(dialog):
        dialog.dismiss()
        raise AssertionError(f"a script ran: {dialog.message}")

    page.on("dialog", fail)


def test_a_visitor_finds_reads_gets_and_forks_a_public_device(browser, hub, seeded, shoot):
    kiosk = seeded
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    no_dialogs(page)

    # Home and explore: what each device runs, and on what (only what its owner publishes).
    page.goto(f"{hub.url}/")
    card = page.locator(".device-card", has_text="olga/kiosk").first
    expect(card.locator('[data-field="runs"]')).to_have_text("awconnectpv-avahi")
    expect(card.locator('[data-field="runs-on"]')).to_have_text(
        "Raspberry Pi 4 Model B Rev 1.4 · aarch64/64/EL"
    )
    shoot(page, "home")
    page.goto(f"{hub.url}/explore/")
    gateway = page.locator(".device-card", has_text="paul/gateway")
    expect(gateway.locator('[data-field="runs-on"]')).to_have_text("Raspberry Pi 5 Model B")
    expect(page.locator("main")).not_to_contain_text("x86_64")  # paul keeps it to himself
    expect(page.locator("main")).not_to_contain_text("canary-private")
    shoot(page, "explore")

    # The device: get it with one command, copied with one click.
    page.locator(".device-card a.device-name", has_text="kiosk").first.click()
    page.wait_for_url(kiosk)
    command = f"trail clone --hub {hub.url} olga/kiosk"
    expect(page.locator("#clone-command")).to_have_text(command)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=hub.url)
    copy = page.locator(".get-it button.copy")
    expect(copy).to_be_visible()
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == command
    expect(page.locator('[data-field="fact"]')).to_have_text(
        ["Raspberry Pi 4 Model B Rev 1.4", "aarch64/64/EL"]
    )
    shoot(page, "device-overview")

    # The fork count leads to the forks; paul's fork is into a private device.
    page.click('a.counter[href$="/forks/"]')
    page.wait_for_url(f"{kiosk}forks/")
    expect(page.locator('[data-field="forks-unlisted"]')).to_have_text(
        "and 1 into private device, not listed"
    )

    # Revisions, then one revision's tree: a folder's arrow turns as it opens.
    page.goto(f"{kiosk}revisions/")
    expect(page.locator("table.revisions tbody tr")).to_have_count(3)
    shoot(page, "revisions")
    page.goto(f"{kiosk}revisions/2/")
    turned = "icon => getComputedStyle(icon).transform === 'matrix(0, 1, -1, 0, 0, 0)'"  # 90°
    top = page.locator("li.dir > details > summary", has_text="_config/").first.locator(".icon")
    assert top.evaluate(turned)  # open from the start
    folder = page.locator("li.dir > details > summary", has_text="awconnect/").first  # closed
    assert folder.locator(".icon").evaluate("icon => getComputedStyle(icon).transform") == "none"
    folder.click()
    page.wait_for_function(turned, arg=folder.locator(".icon").element_handle())

    # A small text file reads on its page, as text (the hostile one too: nothing runs).
    page.goto(f"{kiosk}revisions/2/files/_config/awconnect/etc/motd")
    expect(page.locator('[data-field="file-text"]')).to_have_text(HOSTILE)
    page.goto(f"{kiosk}revisions/2/")
    page.click('a.name[href$="/files/pv-avahi/lxc.container.conf"]')
    page.wait_for_url(f"{kiosk}revisions/2/files/pv-avahi/lxc.container.conf")
    expect(page.locator('[data-field="file-text"] .ln')).to_have_count(5)
    expect(page.locator('[data-field="file-text"]')).to_contain_text("lxc.pty.max = 2048")
    shoot(page, "file-view")
    # Binary files keep the download, saved under the file's own name.
    page.goto(f"{kiosk}revisions/2/files/bsp/kernel.img")
    expect(page.locator('[data-field="no-preview"]')).to_contain_text("not text (binary)")
    page.goto(f"{kiosk}revisions/2/files/_config/awconnect/etc/notes-été.txt")
    with page.expect_download() as got:
        page.click('[data-field="download"]')
    assert got.value.suggested_filename == "notes-été.txt"

    # The diff: text files change line by line, binaries by sha.
    page.goto(f"{kiosk}revisions/2/")
    page.click("text=Diff with rev 1")
    page.wait_for_url(re.compile(r".*/diff/\?a=1&b=2$"))
    hostname = page.locator('.diff-file[data-key="_config/pv-avahi/etc/hostname"]')
    expect(hostname.locator(".l.del")).to_have_text(["-kiosk"])
    expect(hostname.locator(".l.ins")).to_have_text(["+lobby"])
    conf = page.locator('.diff-file[data-key="pv-avahi/lxc.container.conf"]')
    expect(conf.locator(".l.ins")).to_have_text(
        ["+lxc.pty.max = 2048", "+lxc.mount.entry = /data data none bind 0 0"]
    )
    kernel = page.locator('.diff-file[data-key="bsp/kernel.img"]')
    expect(kernel.locator(".diff-object")).to_contain_text("Binary")
    expect(page.locator('.diff-file[data-key="device.json"] .l.ins')).to_contain_text(
        ['+    "lobby"']
    )
    shoot(page, "diff")

    # Fork while logged out: log in first, then the fork form.
    page.goto(kiosk)
    page.click('[data-field="fork"]')
    page.wait_for_url(re.compile(r".*/accounts/login/\?next=/u/olga/kiosk/revisions/2/fork/$"))
    page.fill("input[name=username]", "paul")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{kiosk}revisions/2/fork/")
    expect(page.locator("form.fork-form")).to_be_visible()
    context.close()


def test_the_get_it_box_works_without_javascript(browser, hub, seeded):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(seeded)
    expect(page.locator(".get-it button.copy")).to_be_hidden()  # nothing that cannot work
    expect(page.locator("#clone-command")).to_have_text(f"trail clone --hub {hub.url} olga/kiosk")
    page.locator("#clone-command").click()  # user-select: all: one click selects it all
    assert page.evaluate("String(getSelection())") == f"trail clone --hub {hub.url} olga/kiosk"
    context.close()
