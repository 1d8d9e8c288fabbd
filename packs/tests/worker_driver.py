"""Sets up and drives the worker-kill test's database: ``python -m packs.tests.worker_driver``.

``setup N``  an owner, a leader without hardware and N followers in one pack (JSON ids out)
``post``     post a new revision to the leader (its rollout is queued for the workers)

Runs with the test's environment (its own PostgreSQL database and Redis keys).
"""

from __future__ import annotations

import json
import sys

import django


def setup(count: int) -> dict:
    from devices.models import Device
    from packs import services
    from packs.tests.helpers import state
    from portal.models import User
    from revisions import services as revisions

    owner = User.objects.create_user("alice", "alice@example.com", "correct horse battery")

    def device(nick: str, hardware: bool = True) -> Device:
        made = Device.objects.create(owner=owner, nick=nick, has_hardware=hardware)
        revisions.create_trail(made, state(0))
        return made

    leader = device("leader", hardware=False)
    pack = services.create_pack(owner, nick="fleet", leader=leader)
    followers = [device(f"follower-{n:03d}") for n in range(count)]
    for follower in followers:
        services.add_follower(pack, follower)
    return {"pack": pack.id, "leader": leader.id, "followers": [f.id for f in followers]}


def post() -> dict:
    from packs.models import Pack
    from packs.tests.helpers import state
    from revisions import services as revisions
    from revisions.models import Trail

    pack = Pack.objects.select_related("owner").get()
    trail = Trail.objects.select_related("device__owner").get(pk=pack.leader_id)
    step = revisions.post_step(trail, state(1), commit_msg="release 1", author=pack.owner)
    return {"step": step.id, "rev": step.rev}


def main(argv: list[str]) -> int:
    django.setup()
    if argv[0] == "setup":
        print(json.dumps(setup(int(argv[1]))))
    elif argv[0] == "post":
        print(json.dumps(post()))
    else:
        raise SystemExit(f"unknown command: {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
