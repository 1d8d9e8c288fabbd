"""Revision proposals: pull requests for devices.

Anyone who may see a device proposes one of their own revisions to it; its owner
merges it (a three-way merge, :func:`trail.merge.merge_states`, posted as the
target's next revision whose author is the proposer) or closes it, as the proposer
may too. Comments come from anyone who may see the target.

A proposal never lets the proposer write to the target: only the target's owner
merges, and the merge is posted through ``revisions.services.steps.post_step`` like
any revision (its numbers, its object check, the target's signing rule). The
objects of the proposed revision that the merge names are linked to the target's
owner (:func:`revisions.services.objects.link_held_objects`): proposing offers them.

The merge's base is what one device last took in from the other (``Upstream``:
a fork of the target proposing back, or the target a fork of the proposer's device),
else the target's newest revision when the proposal was opened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Max, QuerySet
from django.http import Http404
from django.utils import timezone

from community import stateview
from community.models import Proposal, ProposalComment, Upstream
from community.services import MAX_REV, label, merge_conflicts, revision_to_fork
from community.signals import proposal_moved
from devices.models import Device
from portal.errors import Conflict, DomainError, Forbidden
from revisions.models import Step, Trail
from revisions.services.objects import held_blobs, link_held_objects, small_contents
from revisions.services.signing import meets_rule
from revisions.services.steps import post_step
from trail import state as ts
from trail.merge import Merge, merge_states
from trail.signatures.rule import Verdict

OPEN, MERGED, CLOSED = Proposal.Status.OPEN, Proposal.Status.MERGED, Proposal.Status.CLOSED
TITLE_MAX = 200
BODY_MAX = 20_000
COMMENT_MAX = 10_000
#: The most objects a proposal's diff reads to show as text; past that, named by sha.
MAX_TEXT_FILES = 100


# --- Finding them ------------------------------------------------------------------------


def proposals_of(target: Device, status: str = "") -> QuerySet[Proposal]:
    """The proposals to ``target`` (one the caller may see), newest first."""
    rows = Proposal.objects.filter(target=target).select_related("proposer", "source_device")
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("-number")


def proposal_of(target: Device, number: int) -> Proposal:
    """Proposal ``number`` of ``target`` (one the caller may see), or 404."""
    found = (
        Proposal.objects.select_related(
            "proposer", "closed_by", "source_device__owner", "target__owner"
        )
        .filter(target=target, number=number)
        .first()
        if 0 < number <= MAX_REV
        else None
    )
    if found is None:
        raise Http404(f"{label(target)} has no proposal #{number}")
    return found


def proposals_by(user) -> QuerySet[Proposal]:
    """``user``'s own proposals to devices they may still see, newest first (the dashboard)."""
    visible = Device.objects.visible_to(user)
    return (
        Proposal.objects.filter(proposer=user, target__in=visible)
        .select_related("target__owner")
        .order_by("-time_created")
    )


def comments_of(proposal: Proposal) -> QuerySet[ProposalComment]:
    return proposal.comments.select_related("author").order_by("time_created", "pk")


# --- What merging would give -------------------------------------------------------------


@dataclass
class Review:
    """A proposal against its target's newest revision, before anything is posted.

    ``merge`` is None when there is nothing to merge: the proposal is not open, or
    a revision it needs is gone. ``verdict`` is the target's signing rule on the
    merged state (None: the target requires no signatures).
    """

    proposal: Proposal
    head: Step | None
    theirs: Step | None
    merge: Merge | None
    verdict: Verdict | None

    @property
    def conflicts(self) -> list[dict[str, Any]]:
        return [c.as_json() for c in self.merge.conflicts] if self.merge else []

    @property
    def signed_ok(self) -> bool:
        """Whether the merged state would keep the target's signing rule."""
        return self.verdict is None or self.verdict.met

    @property
    def mergeable(self) -> bool:
        """Whether merging now would post: clean, signed as the target requires, a change."""
        return (
            self.merge is not None
            and self.merge.clean
            and self.signed_ok
            and self.head is not None
            and ts.state_sha(self.merge.state) != self.head.state_sha
        )


def _head(device: Device) -> Step | None:
    return Step.objects.filter(trail_id=device.id).order_by("-rev").first()


def _merge(proposal: Proposal, head: Step, theirs: Step) -> Merge:
    base = proposal.base.state if proposal.base is not None else head.state
    return merge_states(base, head.state, theirs.state)


def review(proposal: Proposal) -> Review:
    """Merge ``proposal`` in memory against its target's newest revision."""
    head = _head(proposal.target)
    theirs = proposal.step
    if not proposal.is_open or head is None or theirs is None:
        return Review(proposal, head, theirs, None, None)
    merged = _merge(proposal, head, theirs)
    return Review(proposal, head, theirs, merged, meets_rule(proposal.target, merged.state))


@dataclass
class Changes:
    """What a proposal changes, as the pages and the API show it: ``before`` → ``after``."""

    before: Step | None
    after: Step | None
    keys: list[stateview.KeyDiff]


def changes(found: Review) -> Changes:
    """The line diff a proposal shows: an open one, the target's newest against the merged
    state (against the proposed state when they conflict: the merged one keeps ours
    there); a merged one, what its revision changed; a closed one, the target's newest
    against the proposed revision."""
    proposal = found.proposal
    if proposal.status == MERGED and proposal.merged_rev is not None:
        steps = Step.objects.filter(trail_id=proposal.target_id)
        after = steps.filter(rev=proposal.merged_rev).first()
        before = steps.filter(rev__lt=proposal.merged_rev).order_by("-rev").first()
        new_state = after.state if after else {}
        sides = (before, after)
    else:
        before, after = found.head, found.theirs
        merged = found.merge
        new_state = merged.state if merged and merged.clean else (after.state if after else {})
        sides = (before, after)
    old_state = before.state if before else {}
    contents = text_contents(sides, (old_state, new_state))
    return Changes(before, after, stateview.diff(old_state, new_state, contents))


def text_contents(
    steps: tuple[Step | None, Step | None], states: tuple[Mapping[str, Any], Mapping[str, Any]]
) -> dict[str, bytes]:
    """The bytes of the objects that differ between ``states``, each read through the
    revision of its side (what that revision's pages may show) and only when small: at
    most :data:`MAX_TEXT_FILES` of them, the rest named by sha."""
    wanted = stateview.text_objects(dict(states[0]), dict(states[1]))
    contents: dict[str, bytes] = {}
    budget = MAX_TEXT_FILES
    for step, shas in zip(steps, wanted, strict=True):
        if step is None:
            continue
        chosen = sorted(shas - contents.keys())[:budget]
        contents.update(small_contents(held_blobs(step, chosen).values(), stateview.TEXT_LIMIT))
        budget -= len(chosen)
    return contents


# --- Writing -----------------------------------------------------------------------------


def _text(value: str, name: str, limit: int, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DomainError(f"give the {name}", code=f"{name}-required")
    if len(value) > limit:
        raise DomainError(
            f"the {name} is {len(value)} characters; at most {limit}", code=f"{name}-too-long"
        )
    return value


def _base_of(source: Device, target: Device, head: Step) -> Step:
    """The common ancestor of the two devices' states: what one last took in from the other."""
    for device, other in ((source, target), (target, source)):
        row = Upstream.objects.filter(device=device, source_device=other).first()
        if row is not None:
            step = Step.objects.filter(trail_id=other.id, rev=row.base_rev).first()
            if step is not None:
                return step
    return head


def open_proposal(user, target: Device, step: Step, title: str, body: str = "") -> Proposal:
    """``user`` proposes ``step`` (a revision of one of their devices) to ``target`` (a
    device they may see): the target's next proposal number, OPEN.

    Refused: a revision not ``user``'s (403 ``owner-only``), proposed to its own device
    (400 ``propose-to-itself``), a title missing or long (400), a target without any
    revision (409 ``no-revisions``), one that holds the proposed changes already (409
    ``nothing-to-propose``), the same revision open there already (409
    ``already-proposed``).
    """
    source = step.trail.device
    if not source.is_owned_by(user):
        raise Forbidden("you may propose only revisions of your own devices", "owner-only")
    if source.id == target.id:
        raise DomainError(
            "a device cannot be proposed to itself: propose it to another device",
            code="propose-to-itself",
        )
    title = _text(title, "title", TITLE_MAX, required=True)
    body = _text(body, "body", BODY_MAX, required=False)
    with transaction.atomic():
        # The target's row lock numbers its proposals one at a time.
        Device.objects.select_for_update().filter(pk=target.pk).first()
        head = revision_to_fork(target)
        base = _base_of(source, target, head)
        merged = merge_states(base.state, head.state, step.state)
        if merged.clean and ts.state_sha(merged.state) == head.state_sha:
            raise Conflict(
                f"{label(target)} holds what revision {step.rev} of {label(source)} changes"
                " already: there is nothing to propose",
                code="nothing-to-propose",
            )
        if Proposal.objects.filter(target=target, step=step, status=OPEN).exists():
            raise Conflict(
                f"revision {step.rev} of {label(source)} is proposed to {label(target)} already",
                code="already-proposed",
            )
        last = Proposal.objects.filter(target=target).aggregate(n=Max("number"))["n"] or 0
        proposal = Proposal.objects.create(
            target=target,
            number=last + 1,
            proposer=user,
            source_device=source,
            source_rev=step.rev,
            source_label=label(source),
            step=step,
            base=base,
            title=title,
            body=body,
        )
        _announce(proposal, None)
    return proposal


def merge(user, proposal: Proposal) -> Step:
    """The target's owner merges ``proposal``: its merged state posted as the target's
    next revision, author the proposer, "Merge proposal #n: title", the proposed
    revision's objects it names linked to the owner. Returns the revision.

    Conflicts are a 409 ``conflicts`` (each ``{path, base, ours, theirs}``) and change
    nothing; so do a proposal not open (409 ``not-open``), one whose revision is gone
    (409 ``source-gone``), one the target holds already (409 ``nothing-to-merge``), and
    the refusals of posting (422 ``unsigned`` when the target's signing rule would
    break).
    """
    target = proposal.target
    if not target.is_owned_by(user):
        raise Forbidden("only the target device's owner may merge a proposal", "owner-only")
    with transaction.atomic():
        locked = Proposal.objects.select_for_update().get(pk=proposal.pk)
        _need_open(locked)
        head, theirs = _head(target), locked.step
        if theirs is None or head is None:
            raise Conflict(
                f"the revision proposal #{locked.number} proposes is gone", code="source-gone"
            )
        merged = _merge(locked, head, theirs)
        if not merged.clean:
            raise merge_conflicts(
                f"proposal #{locked.number} changes {len(merged.conflicts)} place(s) that"
                f" {label(target)} changed otherwise since: the proposer resolves them in a"
                " revision of their own and proposes that",
                merged,
            )
        if ts.state_sha(merged.state) == head.state_sha:
            raise Conflict(
                f"{label(target)} holds what proposal #{locked.number} changes already: close it",
                code="nothing-to-merge",
            )
        link_held_objects(user, theirs, ts.required_shas(merged.state))
        new = post_step(
            Trail.objects.get(device=target),
            merged.state,
            commit_msg=f"Merge proposal #{locked.number}: {locked.title}",
            author=locked.proposer,
            forked_from=theirs,
        )
        locked.status, locked.merged_rev = MERGED, new.rev
        locked.closed_by, locked.time_closed = user, timezone.now()
        locked.save(update_fields=["status", "merged_rev", "closed_by", "time_closed"])
        _announce(locked, OPEN)
    proposal.refresh_from_db()
    return new


def close(user, proposal: Proposal) -> Proposal:
    """The target's owner or the proposer closes ``proposal`` unmerged (409 ``not-open``
    when it is not open; anyone else a 403 ``owner-or-proposer``)."""
    if not (proposal.target.is_owned_by(user) or proposal.proposer_id == user.pk):
        raise Forbidden(
            "only the target device's owner or the proposer may close a proposal",
            "owner-or-proposer",
        )
    with transaction.atomic():
        locked = Proposal.objects.select_for_update().get(pk=proposal.pk)
        _need_open(locked)
        locked.status, locked.closed_by, locked.time_closed = CLOSED, user, timezone.now()
        locked.save(update_fields=["status", "closed_by", "time_closed"])
        _announce(locked, OPEN)
    proposal.refresh_from_db()
    return proposal


def comment(user, proposal: Proposal, body: str) -> ProposalComment:
    """``user`` (who may see the target) comments on ``proposal``, open or not."""
    return ProposalComment.objects.create(
        proposal=proposal, author=user, body=_text(body, "comment", COMMENT_MAX, required=True)
    )


def _need_open(proposal: Proposal) -> None:
    if not proposal.is_open:
        raise Conflict(f"proposal #{proposal.number} is {proposal.status}", code="not-open")


def _announce(proposal: Proposal, previous: str | None) -> None:
    moved = {"proposal": proposal, "status": proposal.status, "previous": previous}
    transaction.on_commit(lambda: proposal_moved.send(sender=Proposal, **moved))
