"""Forks that follow upstream: how far behind a fork is, merging an upstream revision into
it (by hand, or by itself when it follows), with :func:`trail.merge.merge_states`.

The three states of a merge: the upstream revision the fork last took in (its
``Upstream.base_rev``), the fork's newest revision (ours), and the upstream
revision being merged (theirs). A clean merge is posted as the fork's next
revision, its objects linked like a fork's, ``forked_from`` pointing at the
upstream revision; the base moves to that revision. A merge with conflicts
changes nothing and answers them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from community.models import Upstream
from community.services import label, merge_conflicts, revision_to_fork
from devices.models import Device
from packs.services import leader_revision
from portal import queue
from portal.errors import Conflict, DomainError
from revisions.models import Step, Trail
from revisions.services.steps import post_step, validated_state_sha
from trail import status as st
from trail.merge import Merge, merge_states


@dataclass
class UpstreamStatus:
    """A device's upstream as one person may see it.

    ``source`` is None when the device is no fork, or when the device it was forked
    from is gone or no longer visible to them: then there is nothing to merge.
    """

    device: Device
    row: Upstream | None
    source: Device | None
    #: The upstream's newest revision.
    head_rev: int | None

    @property
    def base_rev(self) -> int | None:
        return self.row.base_rev if self.row is not None and self.source is not None else None

    @property
    def behind(self) -> int:
        """How many upstream revisions came after the one the device last took in."""
        if self.base_rev is None or self.head_rev is None:
            return 0
        return max(0, self.head_rev - self.base_rev)

    @property
    def follow(self) -> bool:
        return self.row is not None and self.row.follow

    @property
    def notice(self) -> str:
        return self.row.notice if self.row is not None else ""


def upstream_of(device: Device, user, *, lock: bool = False) -> UpstreamStatus:
    """``device``'s upstream as ``user`` sees it (``lock``: the row, for a merge)."""
    rows = Upstream.objects.filter(device=device)
    row = (rows.select_for_update() if lock else rows).first()
    source = None
    if row is not None and row.source_device_id is not None:
        visible = Device.objects.visible_to(user).select_related("owner")
        source = visible.filter(id=row.source_device_id).first()
    head_rev = None
    if source is not None:
        head_rev = Trail.objects.filter(device=source).values_list("head_rev", flat=True).first()
        head_rev = None if head_rev is None or head_rev < 0 else head_rev
    return UpstreamStatus(device, row, source, head_rev)


def _need_source(status: UpstreamStatus) -> Device:
    if status.source is None:
        raise Conflict(
            f"{label(status.device)} follows no device you may see: it is no fork, or the"
            " device it was forked from is gone or private",
            code="no-upstream",
        )
    return status.source


@dataclass
class Preview:
    """What merging upstream revision ``theirs`` would give, before anything is posted."""

    ours: Step
    theirs: Step
    merge: Merge


def preview(status: UpstreamStatus, rev: int = -1) -> Preview:
    """Merge upstream revision ``rev`` (-1: the newest) in memory: 409 ``no-upstream``,
    400 ``no-such-rev``, 409 ``up-to-date`` when the device has taken it in already."""
    source = _need_source(status)
    theirs = revision_to_fork(source, None if rev == -1 else rev)
    assert status.row is not None  # a source comes from a row
    base_rev = status.row.base_rev
    if theirs.rev <= base_rev:
        raise Conflict(
            f"{label(status.device)} has taken in {label(source)} up to revision {base_rev}"
            " already",
            code="up-to-date",
            base_rev=base_rev,
        )
    steps = Step.objects.filter(trail_id=status.device.id)
    ours = steps.order_by("-rev").first()
    base = Step.objects.filter(trail_id=source.id, rev=base_rev).first()
    if ours is None or base is None:  # a fork holds a revision; the upstream keeps its own
        raise Conflict("the revisions to merge from are gone", code="no-upstream")
    return Preview(ours, theirs, merge_states(base.state, ours.state, theirs.state))


def merge_upstream(
    user,
    device: Device,
    rev: int = -1,
    *,
    resolved: dict | None = None,
    parent_rev: int | None = None,
) -> Step | None:
    """Merge upstream revision ``rev`` (-1: the newest) into ``device`` (``user``'s) and
    post the result as its next revision, "Merge upstream <owner/nick> rev N"; return
    it, or None when the device held the merged state already (only the base moved).

    Conflicts are a 409 ``conflicts`` with each one (``trail.merge.Conflict.as_json``)
    and change nothing; so do the refusals of :func:`preview` and of posting.

    ``resolved`` is the merge as its owner made it by hand (``trail pull --upstream``
    after resolving the conflicts): it is posted instead of the computed merge, and
    ``parent_rev``, the device's revision it was made from, must still be its newest
    (else a 409 ``moved``: a revision posted since would be lost).
    """
    with transaction.atomic():
        status = upstream_of(device, user, lock=True)
        found = preview(status, rev)
        merged = found.merge
        if parent_rev is not None and parent_rev != found.ours.rev:
            raise Conflict(
                f"{label(device)} has revision {found.ours.rev} since revision {parent_rev},"
                " which this merge was made from: merge again from the newest",
                code="moved",
                rev=found.ours.rev,
            )
        state = merged.state if resolved is None else resolved
        if resolved is None and not merged.clean:
            raise merge_conflicts(
                f"upstream revision {found.theirs.rev} changes {len(merged.conflicts)} place(s)"
                f" that {label(device)} changed otherwise since revision {status.base_rev}:"
                " resolve them by hand (`trail pull --upstream` in a working copy of it, then"
                " `trail post`)",
                merged,
            )
        new = None
        if validated_state_sha(state) != found.ours.state_sha:
            new = post_step(
                Trail.objects.get(device=device),
                state,
                commit_msg=f"Merge upstream {label(_need_source(status))} rev {found.theirs.rev}",
                author=user,
                forked_from=found.theirs,
                link_public=True,
            )
        assert status.row is not None
        status.row.base_rev = found.theirs.rev
        status.row.notice = ""
        status.row.save(update_fields=["base_rev", "notice", "time_modified"])
    return new


def set_follow(user, device: Device, follow: bool) -> UpstreamStatus:
    """Turn following on or off for ``device`` (``user``'s). Turned on, it also merges at
    once the newest upstream revision the upstream reached, if the device lacks it."""
    with transaction.atomic():
        status = upstream_of(device, user, lock=True)
        source = _need_source(status)
        assert status.row is not None
        status.row.follow = follow
        if follow:
            status.row.notice = ""
        status.row.save(update_fields=["follow", "notice", "time_modified"])
        reached = leader_revision(source) if follow else None
        if reached is not None and reached.rev > status.row.base_rev:
            queue.enqueue_on_commit(_follow_task(), device.id, reached.rev)
    return status


def upstream_moved(step: Step, created: bool = False) -> None:
    """A revision was posted (``created``) or moved (receiver of the revisions signals,
    after commit): the devices that follow its device merge it once that device reached it.

    A progress report costs no query unless it is DONE or UPDATED.
    """
    if not created and step.status not in st.RUNNING_OK:
        return
    followers = Upstream.objects.filter(
        source_device_id=step.trail_id, follow=True, base_rev__lt=step.rev
    ).select_related("source_device")
    for row in followers:
        if step.reached(row.source_device.has_hardware):
            queue.enqueue(_follow_task(), row.device_id, step.rev)


def catch_up(device_id: str, rev: int) -> Step | None:
    """Merge upstream revision ``rev`` into a device that follows its upstream (the Celery
    task ``community.tasks.follow_upstream``; safe to run twice or late).

    A merge that cannot be made (conflicts, an upstream gone or private, a refused
    post) stops following, with the reason as the notice the device page shows.
    """
    row = Upstream.objects.select_related("device__owner").filter(device_id=device_id).first()
    if row is None or not row.follow or row.base_rev >= rev or row.device.owner is None:
        return None
    try:
        return merge_upstream(row.device.owner, row.device, rev)
    except DomainError as exc:
        if exc.code == "up-to-date":
            return None
        Upstream.objects.filter(pk=row.pk, follow=True).update(
            follow=False, notice=f"Stopped following at upstream revision {rev}: {exc.message}"
        )
        return None


def _follow_task():
    from community import tasks  # the task calls back into this module

    return tasks.follow_upstream
