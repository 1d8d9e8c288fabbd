"""What the pages and the API show: members with their revisions, counts, tallies."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import F

from devices.models import Device
from packs import rollout as ro
from packs.models import Delivery, Pack, Rollout, Wave
from packs.services.rollouts import tallies
from packs.services.upkeep import refresh
from revisions.querysets import with_revisions
from trail import status as st

# --- Reading ------------------------------------------------------------------


def with_tallies(rollouts: Iterable[Rollout]) -> list[Rollout]:
    """Load the rollouts' waves and outcomes in two queries, for showing them.

    Sets ``rollout.wave_list`` (each wave with ``.tally`` and ``.deadline_at``), ``rollout.late``
    (the tally of followers that joined after every wave started) and
    ``rollout.tally`` (all of them) and ``rollout.summary`` (``rollout.summarize``: what the
    pages and the API say it came to).
    """
    rollouts = list(rollouts)
    by_id = {rollout.id: rollout for rollout in rollouts}
    counted = tallies(Delivery.objects.filter(rollout_id__in=list(by_id)))
    for rollout in rollouts:
        rollout.wave_list = []
        rollout.late = counted.get((rollout.id, None), ro.Tally())
    for wave in Wave.objects.filter(rollout_id__in=list(by_id)).order_by("rollout_id", "number"):
        rollout = by_id[wave.rollout_id]
        wave.tally = counted.get((wave.rollout_id, wave.id), ro.Tally())
        wave.deadline_at = wave.deadline(rollout.wave_timeout)
        rollout.wave_list.append(wave)
    for rollout in rollouts:
        rollout.tally = ro.add_tallies([rollout.late, *(wave.tally for wave in rollout.wave_list)])
        rollout.summary = ro.summarize(
            rollout.status, rollout.wave_list, rollout.late, rollout.failure_threshold
        )
    return rollouts


def with_refusals(rollouts: Iterable[Rollout]) -> None:
    """Set ``rollout.refusals``: its failed deliveries that say why (a post refused, such
    as an unsigned revision to a pack that requires signatures), with their device, in one
    query; what the pack's page shows under each rollout."""
    rollouts = list(rollouts)
    by_id = {rollout.id: rollout for rollout in rollouts}
    for rollout in rollouts:
        rollout.refusals = []
    failed = (
        Delivery.objects.filter(rollout_id__in=list(by_id), status=ro.D_FAILED)
        .exclude(error="")
        .select_related("device")
        .order_by("rollout_id", "id")
    )
    for delivery in failed:
        by_id[delivery.rollout_id].refusals.append(delivery)


def members(pack: Pack) -> list[Device]:
    """The leader then the followers (in join order), in two queries, each with ``role``,
    ``time_joined`` and its revisions (``head_rev``, ``head_status``, ``running_rev``)."""
    devices = with_revisions(
        Device.objects.select_related("owner"), head=("rev", "status", "status_msg")
    )
    leader = devices.get(pk=pack.leader_id)
    leader.role, leader.time_joined = "leader", None
    followers = list(
        devices.filter(pack_membership__pack=pack)
        .annotate(time_joined=F("pack_membership__time_joined"))
        .order_by("time_joined", "id")
    )
    for follower in followers:
        follower.role = "follower"
    return [leader, *followers]


def status_counts(followers: Iterable[Device]) -> dict[str, int]:
    """How many followers' newest revision is in each status ("none": no revision yet)."""
    counts: dict[str, int] = {}
    for device in followers:
        key = device.head_status or "none"
        counts[key] = counts.get(key, 0) + 1
    return counts


def detail(pack: Pack, past: int = 10) -> Pack:
    """Load what a pack's page and ``GET /packs/<id>`` show, in a fixed number of queries.

    Brings the running rollout up to date first (a wave past its deadline is
    judged now). Sets ``member_list`` (leader first), ``status_counts``,
    ``follower_count``, ``failed_followers`` (followers whose newest revision is in
    ``trail.status.FAILED``, or None), ``active_rollout``, ``past_rollouts``, ``rollout_status`` and
    ``newest_rollout_id`` (the one rollout that may be reverted).
    """
    refresh(pack)
    pack.member_list = members(pack)
    followers = pack.member_list[1:]
    pack.follower_count = len(followers)
    pack.status_counts = status_counts(followers)
    failed = [(status, n) for status, n in pack.status_counts.items() if status in st.FAILED]
    pack.failed_followers = (
        {"total": sum(n for _, n in failed), "statuses": failed} if failed else None
    )
    rollouts = with_tallies(
        Rollout.objects.filter(pack=pack).select_related("leader_step")[: past + 1]
    )
    active = rollouts[0] if rollouts and rollouts[0].is_active else None
    pack.active_rollout = active
    pack.past_rollouts = [r for r in rollouts if r is not active][:past]
    pack.rollout_status = rollouts[0].status if rollouts else None
    pack.newest_rollout_id = rollouts[0].id if rollouts else None
    return pack
