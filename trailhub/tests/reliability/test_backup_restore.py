"""Backing up a hub and restoring it into a new database and a new object store.

The hub is backed up while it holds devices, revisions, objects and a pack;
the backup is restored with ``manage.py restore`` into a database that did
not exist (PostgreSQL when DATABASE_URL is set, else SQLite) and an empty
objects folder, and a real server on the restored hub must still serve it:
every row is there, every object's bytes hash to their sha, and a device
takes a new revision (posted, polled, downloaded).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys

import httpx
import pytest
from django.db import connection

from devices.models import Device
from packs import services as packs
from revisions import services as revisions
from testsupport.live import REPO, LiveHub
from trail import status as st
from trailhub.backups import BackupError, backup, read_manifest

pytestmark = [pytest.mark.reliability, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SPEC = "pantavisor-service-system@1"
PASSWORD = "correct horse battery staple"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload(api, owner, data: bytes) -> None:
    body = {"objectname": "bsp/kernel.img", "size": str(len(data)), "sha256sum": sha(data)}
    answer = api.as_(owner).post("/objects/", body, format="json")
    assert answer.status_code == 200, answer.content
    put = api.generic("PUT", answer.json()["signed-puturl"], data, "application/octet-stream")
    assert put.status_code == 200, put.content


@pytest.fixture
def fresh_database():
    """A database URL naming a database that does not exist yet, made for the restore."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield None  # SQLite: the restored hub's embedded file, under its own folder
        return
    import psycopg

    name = f"trailhub_restore_{secrets.token_hex(4)}"
    admin = connection.settings_dict
    conninfo = dict(
        host=admin["HOST"] or None, port=admin["PORT"] or None,
        user=admin["USER"] or None, password=admin["PASSWORD"] or None, dbname="postgres",
    )  # fmt: skip
    with psycopg.connect(**conninfo, autocommit=True) as pg:
        pg.execute(f'CREATE DATABASE "{name}"')
    yield url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(**conninfo, autocommit=True) as pg:
        pg.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(hub: LiveHub, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=hub.env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


RESTORED_FACTS = """
import hashlib, json
from devices.models import Device
from packs.models import Pack
from revisions.models import Blob, Step
from revisions.storage import get_store
store = get_store()
print(json.dumps({
    "devices": sorted(Device.objects.values_list("id", flat=True)),
    "steps": sorted(Step.objects.values_list("trail_id", "rev", "status", "state_sha")),
    "packs": list(Pack.objects.values_list("nick", "leader_id")),
    "followers": sorted(Pack.objects.get().members.values_list("device_id", flat=True)),
    "objects": {b.sha256: hashlib.sha256(store.open(b.sha256).read()).hexdigest()
                for b in Blob.objects.all()},
}))
"""


def test_a_restored_hub_has_everything_and_takes_new_revisions(
    api, make_user, make_device, tmp_path, fresh_database
):
    owner = make_user("alice")
    device = make_device(owner, nick="kiosk")
    follower = make_device(owner, nick="follower")
    kernel, rootfs = secrets.token_bytes(5000), secrets.token_bytes(70_000)
    for data in (kernel, rootfs):
        upload(api, owner, data)
    revisions.create_trail(device, {"#spec": SPEC})
    revisions.create_trail(follower, {"#spec": SPEC})
    step = revisions.post_step(
        device.trail,
        {"#spec": SPEC, "bsp/kernel.img": sha(kernel), "app/root.squashfs": sha(rootfs)},
        author=owner,
    )
    for status in (st.DOWNLOADING, st.INPROGRESS, st.DONE):
        revisions.report_progress(step, status, progress=100)
    pack = packs.create_pack(owner, nick="fleet", leader=device)
    packs.add_follower(pack, follower)

    folder = tmp_path / "backup"
    report = backup(folder)
    manifest = read_manifest(folder)
    assert report.objects == manifest["objects"] == 2 and manifest["missing"] == []
    assert report.bytes == len(kernel) + len(rootfs)
    with pytest.raises(BackupError, match="not empty"):
        backup(folder)
    before = {
        "devices": sorted(Device.objects.values_list("id", flat=True)),
        "objects": {sha(kernel): sha(kernel), sha(rootfs): sha(rootfs)},
    }

    hub = LiveHub(tmp_path / "restored")
    hub.var_dir.mkdir()
    if fresh_database:
        hub.env.update(DATABASE_URL=fresh_database, DATABASE_CONN_MAX_AGE="0")
    manage(hub, "restore", str(folder))
    manage(hub, "migrate", "--no-input", "-v", "0")  # nothing to do: same release
    facts = json.loads(manage(hub, "shell", "-c", RESTORED_FACTS).splitlines()[-1])
    assert facts["devices"] == before["devices"]
    assert facts["objects"] == before["objects"]  # every object's bytes hash to their sha
    assert [device.id, 1, st.DONE, step.state_sha] in facts["steps"]
    assert facts["packs"] == [["fleet", device.id]] and facts["followers"] == [follower.id]
    assert sorted(p.name for p in hub.objects_dir.rglob("*") if p.is_file()) == sorted(
        before["objects"]
    )
    refused = subprocess.run(
        [sys.executable, "manage.py", "restore", str(folder)],
        cwd=REPO, env=hub.env, capture_output=True, text=True,
    )  # fmt: skip
    assert refused.returncode != 0 and "not empty" in refused.stderr

    # The restored hub at work: a new revision, polled and downloaded by the device.
    hub.start()
    try:
        owner_token = hub.login("alice", PASSWORD)
        app = secrets.token_bytes(9000)
        announced = httpx.post(
            f"{hub.url}/objects/",
            json={"objectname": "app/app.img", "size": str(len(app)), "sha256sum": sha(app)},
            headers={"Authorization": f"Bearer {owner_token}"},
        )
        assert announced.status_code == 200, announced.text
        assert httpx.put(announced.json()["signed-puturl"], content=app).status_code == 200
        posted = httpx.post(
            f"{hub.url}/trails/{device.id}/steps",
            json={
                "rev": -1,
                "commit-msg": "after the restore",
                "state": {"#spec": SPEC, "bsp/kernel.img": sha(kernel), "app/app.img": sha(app)},
            },
            headers={"Authorization": f"Bearer {owner_token}"},
        )
        assert posted.status_code == 200, posted.text
        assert posted.json()["rev"] == 2

        device_token = hub.login(device.prn, device.secret)
        polled = hub.get(f"/trails/{device.id}/steps", device_token)
        assert [s["rev"] for s in polled] == [2]
        for wanted in (app, kernel):
            urls = hub.get(f"/objects/{sha(wanted)}", device_token)
            got = httpx.get(urls["signed-geturl"])
            assert got.status_code == 200 and sha(got.content) == sha(wanted)
    finally:
        hub.stop()
