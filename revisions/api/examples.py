"""Sample wire values the revisions views show in /api/docs/.

A board's factory state from ``../shared/testdata/states/initial_state.json``
(its ``bsp/`` part), the revision that ships it, its objects and progress, as
the views answer them; the views build their examples from these.
"""

from __future__ import annotations

from portal.api.docs import ACCOUNT_PRN, DEVICE_ID, DEVICE_PRN
from trail.canonical import state_sha

HUB = "https://trailhub.example.com"
KERNEL_SHA = "662f020aabbfb64e840662fe9598918951da4708edf79086c733088ff0a068cb"
STATE = {
    "#spec": "pantavisor-service-system@1",
    "bsp/firmware.squashfs": "91429de0593d9a384d299a0cd3710e3acb700ff898e7272393aae5c2c020b173",
    "bsp/kernel.img": KERNEL_SHA,
    "bsp/modules.squashfs": "5dbb6c99e5ccec6d31f42d07f479374ee6d31435a38be7df6ad96f2e03b5d06c",
    "bsp/pantavisor": "051995afc8267ff9b6920e224c06623a4e6c1ba4c269faa8dbb5fbfc06531ffd",
    "bsp/run.json": {
        "addons": [],
        "firmware": "firmware.squashfs",
        "initrd": "pantavisor",
        "initrd_config": "trail.config",
        "linux": "kernel.img",
        "modules": "modules.squashfs",
    },
    "network-mapping.json": {},
}
STATE_SHA = state_sha(STATE)

PROGRESS = {
    "status": "DOWNLOADING",
    "progress": 40,
    "status-msg": "downloading objects",
    "log": "",
    "logs": "",
    "retries": 0,
    "downloads": {
        "total": {
            "total_size": 48234496,
            "start_time": 1717171717,
            "current_time": 1717171741,
            "total_downloaded": 19293798,
        },
        "objects": None,
    },
    "data": None,
}
STEP = {
    "id": f"{DEVICE_ID}-1",
    "owner": ACCOUNT_PRN,
    "device": DEVICE_PRN,
    "trail-id": DEVICE_ID,
    "rev": 1,
    "commit-msg": "bsp: kernel 6.1.90",
    "committer": ACCOUNT_PRN,
    "state": STATE,
    "state-sha": STATE_SHA,
    "meta": {},
    "progress": PROGRESS,
    "progress-time": "2024-05-31T16:09:01.512Z",
    "step-time": "2024-05-31T16:08:37.104Z",
    "garbage": False,
    "time-created": "2024-05-31T16:08:37.104Z",
    "time-modified": "2024-05-31T16:09:01.512Z",
    "used_objects": sorted(
        v for k, v in STATE.items() if k.startswith("bsp/") and isinstance(v, str)
    ),
    "mark_public_processed": False,
}
NEW_PROGRESS = {
    **PROGRESS,
    "status": "NEW",
    "progress": 0,
    "status-msg": "",
    "downloads": {
        "total": {"total_size": 0, "start_time": 0, "current_time": 0, "total_downloaded": 0},
        "objects": None,
    },
}
OBJECT = {
    "id": KERNEL_SHA,
    "storage-id": KERNEL_SHA,
    "owner": ACCOUNT_PRN,
    "objectname": "bsp/kernel.img",
    "sha256sum": KERNEL_SHA,
    "size": "9437696",
    "sizeint": 9437696,
    "mime-type": "application/octet-stream",
    "time-created": "2024-05-31T16:07:52.318Z",
    "time-modified": "2024-05-31T16:07:58.940Z",
}
GET_URL = f"{HUB}/local-s3/get.{KERNEL_SHA}.1717175317.qxYe8YHess_cjLvw6tHrptKgLjypQ0-3VQszb3hir0k"
PUT_URL = (
    f"{HUB}/local-s3/put.{KERNEL_SHA}.1717175317.5f3c2d4e6f8a0b1c2d3e4f50.9437696"
    ".5bFiQMXoXvnqSX6rNSWcTIggeCkGjKTcNKJHetwDPfs"
)
SIGNED = {"now": "2024-05-31T16:08:37.000Z", "expire-time": "2024-05-31T17:08:37.000Z"}
#: ``GET /objects/<sha>``: the object, stored, with where to download it.
OBJECT_TO_GET = {**OBJECT, "signed-puturl": "", "signed-geturl": GET_URL, **SIGNED}
#: ``POST /objects/`` that needs the bytes: where to upload them.
OBJECT_TO_PUT = {**OBJECT, "signed-puturl": PUT_URL, "signed-geturl": "", **SIGNED}
ANNOUNCEMENT = {"objectname": "bsp/kernel.img", "size": "9437696", "sha256sum": KERNEL_SHA}
