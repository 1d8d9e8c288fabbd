"""A revision's files: text diffs of small text objects, the file page, downloads by name."""

from __future__ import annotations

import hashlib

import pytest

from community.stateview import TEXT_LIMIT
from community.views.device import MAX_TEXT_FILES
from revisions.models import Step
from revisions.services.steps import create_trail, post_step
from revisions.storage.base import attachment
from trail.canonical import state_sha

pytestmark = pytest.mark.django_db

HOSTNAME = "_config/app/etc/hostname"
HOSTILE = '<script>alert("owned")</script>\n<b>bold</b> & "quoted"\n'


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def revisions(owner, public_device, uploaded_state):
    """``revisions(files0, files1, **json1)``: alice/kiosk's rev 0 and 1 with these objects
    (uploaded by alice) and JSON keys (rev 1 only)."""

    def make(before: dict[str, bytes], after: dict[str, bytes], **json_keys):
        create_trail(public_device, uploaded_state(owner, before))
        post_step(public_device.trail, uploaded_state(owner, after, **json_keys), author=owner)
        return public_device

    return make


def changes_of(client, a: str = "0", b: str = "1") -> dict:
    response = client.get("/u/alice/kiosk/diff/", {"a": a, "b": b})
    assert response.status_code == 200
    return {change.key: change for change in response.context["changes"]}


def signs(change) -> list[tuple[str, str]]:
    return [(line.sign, line.text) for line in change.lines]


# --- The diff page ----------------------------------------------------------------------


def test_a_small_text_file_changes_as_lines_not_shas(client, revisions):
    revisions({HOSTNAME: b"kiosk\n"}, {HOSTNAME: b"lobby\n"})
    change = changes_of(client)[HOSTNAME]
    assert signs(change) == [("@", "@@ -1 +1 @@"), ("-", "kiosk"), ("+", "lobby")]
    body = client.get("/u/alice/kiosk/diff/", {"a": "0", "b": "1"}).content.decode()
    assert '<span class="l del">-kiosk' in body and '<span class="l ins">+lobby' in body
    assert sha(b"kiosk\n") not in body  # no shas where the lines say it


def test_an_added_text_file_and_a_missing_newline_read_as_trail_diff_prints_them(client, revisions):
    revisions({}, {"_config/app/etc/motd": b"hello\nworld"})
    change = changes_of(client)["_config/app/etc/motd"]
    assert signs(change) == [
        ("@", "@@ -0,0 +1,2 @@"),
        ("+", "hello"),
        ("+", "world"),
        ("\\", " No newline at end of file"),
    ]


def test_json_values_diff_as_pretty_json(client, revisions):
    revisions({}, {}, **{"app/run.json": {"name": "app", "storage": {"data": "permanent"}}})
    change = changes_of(client)["app/run.json"]
    assert ("+", '  "name": "app",') in signs(change)
    assert ("+", '    "data": "permanent"') in signs(change)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"\0ELF binary", b"\0ELF binary 2"),  # not text
        (b"x" * (TEXT_LIMIT + 1), b"x" * 10),  # one side too big to show
        (b"\xff\xfe not utf-8", b"text\n"),
    ],
)
def test_binary_or_big_files_are_named_by_sha(client, revisions, old, new):
    revisions({"bsp/kernel.img": old}, {"bsp/kernel.img": new})
    change = changes_of(client)["bsp/kernel.img"]
    assert change.lines == []
    assert (change.old, change.new) == (sha(old), sha(new))


def test_hostile_file_content_is_shown_escaped(client, revisions):
    revisions({HOSTNAME: b"kiosk\n"}, {HOSTNAME: HOSTILE.encode()})
    body = client.get("/u/alice/kiosk/diff/", {"a": "0", "b": "1"}).content.decode()
    assert "<script>alert" not in body and "<b>bold</b>" not in body
    assert "&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;" in body


def test_naming_a_sha_shows_nothing_of_bytes_the_owner_does_not_hold(
    client, owner, outsider, make_device, uploaded_state
):
    """A state may name any sha: mallory's revision naming alice's private file shows
    its sha, never its text (docs/security.md, object possession)."""
    secret = b"alice's wifi password\n"
    create_trail(make_device(owner, nick="private"), uploaded_state(owner, {HOSTNAME: secret}))
    copy = make_device(outsider, nick="copy", public=True)
    trail = create_trail(copy, uploaded_state(outsider, {HOSTNAME: b"hello\n"}))
    # Written as it is: the service refuses a state naming a sha mallory does not hold.
    state = {**uploaded_state(outsider, {}), HOSTNAME: sha(secret)}
    Step.objects.create(trail=trail, rev=1, state=state, state_sha=state_sha(state))
    response = client.get("/u/mallory/copy/diff/", {"a": "0", "b": "1"})
    [change] = [c for c in response.context["changes"] if c.key == HOSTNAME]
    assert change.lines == [] and change.new == sha(secret)
    assert "wifi password" not in response.content.decode()
    file_page = client.get(f"/u/mallory/copy/revisions/1/files/{HOSTNAME}")
    assert "wifi password" not in file_page.content.decode()
    assert "not uploaded yet" in file_page.content.decode()
    assert client.get(f"/u/mallory/copy/revisions/1/download/{HOSTNAME}").status_code == 404


def test_a_diff_reads_at_most_so_many_files(client, revisions, monkeypatch):
    monkeypatch.setattr("community.views.device.MAX_TEXT_FILES", 2)
    files = {f"_config/app/{n}.txt": f"{n}\n".encode() for n in range(3)}
    revisions({}, files)
    changes = changes_of(client)
    assert sum(1 for change in changes.values() if change.lines) == 2
    assert MAX_TEXT_FILES == 100


# --- The file page ----------------------------------------------------------------------


def test_a_small_text_file_is_shown_escaped_with_its_download(client, revisions):
    revisions({}, {HOSTNAME: HOSTILE.encode()})
    response = client.get(f"/u/alice/kiosk/revisions/1/files/{HOSTNAME}")
    assert response.status_code == 200
    body = response.content.decode()
    assert response.context["lines"] == HOSTILE.splitlines()
    assert '<span class="ln">&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;\n</span>' in body
    assert "<script>alert" not in body and "<b>bold</b>" not in body
    assert f'href="/u/alice/kiosk/revisions/1/download/{HOSTNAME}"' in body


@pytest.mark.parametrize(
    ("data", "why"),
    [(b"\0\x01\x02binary", "not text (binary)"), (b"y" * (TEXT_LIMIT + 1), "larger than 64.0")],
)
def test_binary_and_big_files_keep_the_download_only(client, revisions, data, why):
    revisions({}, {"bsp/kernel.img": data})
    body = client.get("/u/alice/kiosk/revisions/1/files/bsp/kernel.img").content.decode()
    assert 'class="file-text"' not in body
    assert why in body
    assert 'href="/u/alice/kiosk/revisions/1/download/bsp/kernel.img"' in body


def test_a_json_key_is_shown_as_pretty_json(client, revisions):
    revisions({}, {}, **{"app/run.json": {"name": "<app>"}})
    response = client.get("/u/alice/kiosk/revisions/1/files/app/run.json")
    assert response.context["lines"] == ["{", '  "name": "<app>"', "}"]
    assert "&lt;app&gt;" in response.content.decode()
    assert "download" not in response.content.decode().split('class="card file-page"')[1]


@pytest.mark.parametrize("key", ["nope.txt", "%23spec", "_config/app"])
def test_a_key_the_revision_lacks_is_a_404(client, revisions, key):
    revisions({}, {HOSTNAME: b"x\n"})
    assert client.get(f"/u/alice/kiosk/revisions/1/files/{key}").status_code == 404
    assert client.get(f"/u/alice/kiosk/revisions/1/download/{key}").status_code == 404


def test_files_of_a_private_device_are_the_owners(client, owner, outsider, revisions):
    device = revisions({}, {HOSTNAME: b"x\n"})
    device.public = False
    device.save()
    for who in (None, outsider):
        if who:
            client.force_login(who)
        assert client.get(f"/u/alice/kiosk/revisions/1/files/{HOSTNAME}").status_code == 404
        assert client.get(f"/u/alice/kiosk/revisions/1/download/{HOSTNAME}").status_code == 404
    client.force_login(owner)
    assert client.get(f"/u/alice/kiosk/revisions/1/files/{HOSTNAME}").status_code == 200


# --- Downloads, saved under the file's name ---------------------------------------------


def download(client, url: str):
    redirect = client.get(url)
    assert redirect.status_code == 302, redirect
    answer = client.get(redirect["Location"])
    assert answer.status_code == 200
    return answer


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("hostname", 'attachment; filename="hostname"'),
        ('a"; filename="evil.exe', 'attachment; filename="a\\"; filename=\\"evil.exe"'),
        ("résumé <1>.txt", "attachment; filename*=utf-8''r%C3%A9sum%C3%A9%20%3C1%3E.txt"),
    ],
)
def test_a_download_is_saved_under_its_file_name(client, revisions, name, header):
    revisions({}, {f"_config/app/{name}": b"bytes\n"})
    answer = download(client, f"/u/alice/kiosk/revisions/1/download/_config/app/{name}")
    assert answer["Content-Disposition"] == header
    assert answer["Content-Type"] == "application/octet-stream"  # never rendered as a page


def test_no_file_name_can_break_the_header():
    for name in ("a\r\nSet-Cookie: x=1", "a\nb", "\x7f", "\x00"):
        header = attachment(name)
        assert not any(char in header for char in "\r\n\x7f"), header
        assert header.startswith("attachment; filename*=utf-8''")


def test_a_devices_download_url_names_no_file(api, device, owner, uploaded_state):
    """Pantavisor's downloads (the API's signed-geturl) are as before: no disposition."""
    state = uploaded_state(owner, {"bsp/kernel.img": b"kernel"})
    create_trail(device, state)
    url = api.as_(device).get(f"/objects/{sha(b'kernel')}").json()["signed-geturl"]
    answer = api.as_(None).get(url)
    assert answer.status_code == 200
    assert "attachment" not in answer.get("Content-Disposition", "")


def test_the_revision_tree_links_each_file_to_its_page(client, revisions):
    revisions({}, {HOSTNAME: b"x\n"})
    body = client.get("/u/alice/kiosk/revisions/1/").content.decode()
    assert (
        f'<a class="name" href="/u/alice/kiosk/revisions/1/files/{HOSTNAME}">hostname</a>' in body
    )
