"""What the pack API, pages, receivers and tasks call: the rules, written once.

* Membership: followers and the leader are the pack owner's devices; a device
  follows at most one pack; no device follows its own revisions, directly or
  through other packs (:func:`add_follower`, :func:`update_pack`).
* Propagation: when the leader reaches a revision, :func:`start_rollout` plans
  the waves and :func:`deliver` posts the leader's state to one follower,
  exactly once, through ``revisions.services.post_step``.
* Waves: :func:`evaluate` judges the running wave (``rollout.judge``) and
  moves the rollout on; it runs when a follower's revision reaches a final
  status, when a GET reads the pack (:func:`refresh`, so a wave's timeout
  needs no Celery beat), and from the periodic sweep.
* The owner's actions: :func:`resume`, :func:`abort`, :func:`revert`.

Locks are taken in one order, so that nothing deadlocks: the owner's account
(membership and leader changes), then the pack, then the rollout, then
deliveries.
"""

from packs.services.actions import abort, resume, revert
from packs.services.membership import (
    PACK_SETTINGS,
    ROLLOUT_SETTINGS,
    SCHEDULE,
    add_follower,
    create_pack,
    delete_pack,
    get_member,
    get_pack,
    get_rollout,
    leaders_above,
    remove_follower,
    update_pack,
)
from packs.services.reading import detail, members, status_counts, with_refusals, with_tallies
from packs.services.rollouts import (
    STALE_DELIVERY,
    catch_up,
    deliver,
    evaluate,
    leader_revision,
    start_rollout,
    step_created,
    step_progressed,
    tallies,
    wave_tally,
)
from packs.services.upkeep import refresh, refresh_rollout, sweep, unrolled

__all__ = [
    "PACK_SETTINGS",
    "ROLLOUT_SETTINGS",
    "SCHEDULE",
    "STALE_DELIVERY",
    "abort",
    "add_follower",
    "catch_up",
    "create_pack",
    "delete_pack",
    "deliver",
    "detail",
    "evaluate",
    "get_member",
    "get_pack",
    "get_rollout",
    "leader_revision",
    "leaders_above",
    "members",
    "refresh",
    "refresh_rollout",
    "remove_follower",
    "resume",
    "revert",
    "start_rollout",
    "status_counts",
    "step_created",
    "step_progressed",
    "sweep",
    "tallies",
    "unrolled",
    "update_pack",
    "wave_tally",
    "with_refusals",
    "with_tallies",
]
