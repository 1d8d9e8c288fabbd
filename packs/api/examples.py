"""Sample wire values the pack views show in /api/docs/.

A pack of three kiosks led by a template, whose rollout of revision 1 paused
after its canary wave failed: the case an owner meets /resume, /abort and
/revert in. The shapes are the serializers' (packs/api/serializers.py).
"""

from __future__ import annotations

from portal.api.docs import ACCOUNT_PRN, DEVICE_ID, DEVICE_PRN
from revisions.api.examples import STATE_SHA
from trail import wire

PACK_ID = "5f3c3a1b2c4d6e8f0a1b2c3d"
LEADER_ID = "5f3c4b2a1e0d9c8b7a6f5e4d"
CAFE_ID = "5f3c4b2a1e0d9c8b7a6f5e50"
ENTRANCE_ID = "5f3c4b2a1e0d9c8b7a6f5e51"
ROLLOUT_ID = "5f3c5d7e9f1a3b5c7d9e1f20"

SETTINGS = {
    "canary-share": 0.34,
    "wave-size": 2,
    "failure-threshold": 0.2,
    "wave-timeout": 1800,
    "require-signatures": False,
}
PACK = {
    "id": PACK_ID,
    "prn": f"prn:::packs:/{PACK_ID}",
    "nick": "kiosks",
    "description": "Lobby and café kiosks, building B",
    "owner": ACCOUNT_PRN,
    "owner-nick": "alice",
    "leader": LEADER_ID,
    "leader-nick": "kiosk-template",
    **SETTINGS,
    "rule": {"tags": {"all": ["kiosk"], "any": ["lobby", "cafe"]}},
    "windows": [{"days": ["mon", "tue", "wed", "thu"], "from": "22:00", "to": "04:00"}],
    "timezone": "Europe/Berlin",
    "start-at": None,
    "next-wave-at": "2024-05-31T20:00:00Z",
    "follower-count": 3,
    "rollout-status": "paused",
    "time-created": "2024-05-30T11:24:10.118Z",
    "time-modified": "2024-05-30T11:24:10.118Z",
}
FOLLOWER = {
    "id": DEVICE_ID,
    "prn": DEVICE_PRN,
    "nick": "kiosk-lobby",
    "role": "follower",
    "has-hardware": True,
    "online": True,
    "last-seen": "2024-05-31T16:12:40.551Z",
    "time-joined": "2024-05-30T11:25:02.430Z",
    "running-rev": 0,
    "head-rev": 1,
    "head-status": "ERROR",
    "head-status-msg": "bsp: kernel does not boot, rolled back",
}
LEADER = {
    **FOLLOWER,
    "id": LEADER_ID,
    "prn": wire.device_prn(LEADER_ID),
    "nick": "kiosk-template",
    "role": "leader",
    "has-hardware": False,
    "online": False,
    "last-seen": None,
    "time-joined": None,
    "running-rev": 1,
    "head-status": "DONE",
    "head-status-msg": "",
}
CAFE = {
    **FOLLOWER,
    "id": CAFE_ID,
    "prn": wire.device_prn(CAFE_ID),
    "nick": "kiosk-cafe",
    "head-status": "NEW",
    "head-status-msg": "",
}
ENTRANCE = {  # in wave 2, which has not started: still on revision 0
    **FOLLOWER,
    "id": ENTRANCE_ID,
    "prn": wire.device_prn(ENTRANCE_ID),
    "nick": "kiosk-entrance",
    "head-rev": 0,
    "head-status": "DONE",
    "head-status-msg": "",
}
_FAILED = "wave 1 (canary): 1 of 2 devices failed (50%), over the threshold of 20%"
ROLLOUT = {
    "id": ROLLOUT_ID,
    "pack": PACK_ID,
    "leader": LEADER_ID,
    "leader-rev": 1,
    "commit-msg": "bsp: kernel 6.1.90",
    "state-sha": STATE_SHA,
    "status": "paused",
    "status-msg": f"paused · {_FAILED}; resume, abort or revert",
    "failure-threshold": 0.2,
    "wave-timeout": 1800,
    "current-wave": 1,
    "counts": {"ok": 0, "failed": 1, "cancelled": 0, "waiting": 2},
    "late": {"ok": 0, "failed": 0, "cancelled": 0, "waiting": 0},
    "waves": [
        {
            "number": 1,
            "kind": "canary",
            "status": "failed",
            "status-msg": f"{_FAILED}; resume, abort or revert",
            "time-started": "2024-05-31T16:08:37.104Z",
            "time-decided": "2024-05-31T16:12:41.020Z",
            "deadline": "2024-05-31T16:38:37.104Z",
            "size": 2,
            "failure-share": 0.5,
            "counts": {"ok": 0, "failed": 1, "cancelled": 0, "waiting": 1},
        },
        {
            "number": 2,
            "kind": "batch",
            "status": "pending",
            "status-msg": "",
            "time-started": None,
            "time-decided": None,
            "deadline": None,
            "size": 1,
            "failure-share": 0.0,
            "counts": {"ok": 0, "failed": 0, "cancelled": 0, "waiting": 1},
        },
    ],
    "time-created": "2024-05-31T16:08:37.104Z",
    "time-modified": "2024-05-31T16:12:41.020Z",
    "time-finished": None,
}
ROLLOUT_DETAIL = {
    **ROLLOUT,
    "deliveries": [
        {
            "device": DEVICE_ID,
            "nick": "kiosk-lobby",
            "wave": 1,
            "kind": "release",
            "status": "posted",
            "error": "",
            "rev": 1,
            "progress-status": "ERROR",
            "outcome": "failed",
            "previous-rev": 0,
            "time-posted": "2024-05-31T16:08:37.611Z",
        },
        {
            "device": CAFE_ID,
            "nick": "kiosk-cafe",
            "wave": 1,
            "kind": "release",
            "status": "posted",
            "error": "",
            "rev": 1,
            "progress-status": "NEW",
            "outcome": "waiting",
            "previous-rev": 0,
            "time-posted": "2024-05-31T16:08:37.640Z",
        },
    ],
}
PACK_DETAIL = {
    **PACK,
    "members": [LEADER, FOLLOWER, CAFE, ENTRANCE],
    "counts": {"ERROR": 1, "NEW": 1, "DONE": 1},  # the followers' newest revisions
    "rollout": ROLLOUT,
    "past-rollouts": [],
}
