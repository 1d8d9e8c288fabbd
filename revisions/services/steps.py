"""Posting revisions and moving their progress."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from portal import audit
from portal.errors import Conflict, DomainError
from revisions import pollcache
from revisions.models import ProgressReport, Step, StepObject, Trail
from revisions.services.objects import ensure_present, link_public_objects, missing_objects
from revisions.services.signing import check_signatures, is_signed
from revisions.signals import step_created, step_progressed
from trail import state as ts
from trail import status as st

#: The fields of a progress report a device may set, besides ``status``.
PROGRESS_FIELDS = (
    "progress",
    "status_msg",
    "log",
    "logs",
    "retries",
    "downloads",
    "progress_data",
)


def validated_state_sha(state: Any) -> str:
    """Validate a state with ``trail.state`` and return its state-sha; a 400 naming the key if bad."""
    try:
        ts.validate_state(state)
    except ts.StateError as exc:
        raise DomainError(str(exc), code=exc.code, key=exc.key) from None
    return ts.state_sha(state)


def _record_objects(step: Step) -> None:
    StepObject.objects.bulk_create(
        [StepObject(step=step, sha256=sha) for sha in sorted(ts.required_shas(step.state))]
    )


def _check_objects(owner, state: dict) -> None:
    """Raise a 409 listing the shas (and keys) ``owner`` does not have; locks the rows it read."""
    missing = missing_objects(owner, ts.required_shas(state), lock=True)
    if not missing:
        return
    keys = ts.object_shas(state)
    named = ", ".join(f"{keys[sha][0]} ({sha[:12]}…)" for sha in missing[:5])
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    raise Conflict(
        f"{len(missing)} object(s) the state names are not uploaded: {named}{more};"
        " upload them with POST /objects/ first",
        code="missing-objects",
        missing=missing,
    )


def _announce_created(step: Step) -> None:
    transaction.on_commit(lambda: step_created.send(sender=Step, step=step))


def create_trail(device, state: dict, *, author=None, commit_msg: str = "factory state") -> Trail:
    """Start ``device``'s trail with its factory state as revision 0, DONE.

    The state's objects need not be uploaded yet: a device posts its factory
    state first and uploads the objects after (``/trails/<id>/steps/0/objects``).
    """
    sha = validated_state_sha(state)
    now = timezone.now()
    with transaction.atomic():
        trail, _ = Trail.objects.get_or_create(device=device)
        trail = Trail.objects.select_for_update().get(pk=trail.pk)
        if trail.head_rev >= 0:
            raise Conflict(
                f"this device already has a trail; post new revisions to /trails/{device.id}/steps",
                code="trail-exists",
            )
        step = Step.objects.create(
            trail=trail,
            rev=0,
            commit_msg=commit_msg,
            state=state,
            state_sha=sha,
            signed=is_signed(state),
            author=author,
            status=st.DONE,
            progress=100,
            progress_time=now,
        )
        _record_objects(step)
        trail.head_rev = 0
        trail.last_touched = now
        trail.save(update_fields=["head_rev", "last_touched"])
        _announce_created(step)
    return trail


def _owner_of(trail: Trail):
    owner = trail.device.owner
    if owner is None:
        raise Conflict("this device is not claimed yet; claim the device first", code="unclaimed")
    return owner


def post_step(
    trail: Trail,
    state: dict,
    *,
    rev: int = -1,
    commit_msg: str = "",
    meta: dict | None = None,
    author=None,
    forked_from: Step | None = None,
    link_public: bool = False,
) -> Step:
    """Append a revision to ``trail`` and return it (status NEW).

    ``rev`` is the next number, or -1 for "whatever is next"; the number is
    allocated under the trail's row lock, so concurrent posters get
    consecutive numbers and never the same one. Every object the state names
    must be the owner's (uploaded or linked), else a 409 lists the missing
    shas; a device that requires signatures refuses an unsigned state with a 422
    (nothing stored, no number taken); ``link_public=True`` first links those
    that a public revision has (forks do). Sends ``step_created`` after commit.
    """
    owner = _owner_of(trail)
    sha = validated_state_sha(state)
    check_signatures(trail.device, state)
    shas = ts.required_shas(state)
    if link_public:
        link_public_objects(owner, shas)
    ensure_present(owner, shas)
    now = timezone.now()
    with transaction.atomic():
        locked = Trail.objects.select_for_update().get(pk=trail.pk)
        next_rev = locked.head_rev + 1
        if rev != -1 and rev < next_rev:
            raise Conflict(
                f"revision {rev} already exists; the next revision is {next_rev}"
                " (or send rev -1 to append)",
                code="rev-exists",
                next_rev=next_rev,
            )
        if rev != -1 and rev > next_rev:
            raise DomainError(
                f"revision {rev} would skip numbers; the next revision is {next_rev}"
                " (or send rev -1 to append)",
                code="rev-skips",
                next_rev=next_rev,
            )
        _check_objects(owner, state)
        step = Step.objects.create(
            trail=locked,
            rev=next_rev,
            commit_msg=commit_msg,
            state=state,
            state_sha=sha,
            signed=is_signed(state),
            meta=meta or {},
            author=author,
            forked_from=forked_from,
            time_created=now,
        )
        _record_objects(step)
        audit.record(
            "revision.post",
            owner=owner,
            target=trail.device,
            after={
                "rev": next_rev,
                "commit-msg": commit_msg[:200],
                "state-sha": sha,
                "forked-from": forked_from.trail_id if forked_from else None,
            },
        )
        locked.head_rev = next_rev
        locked.last_touched = now
        locked.save(update_fields=["head_rev", "last_touched"])
        _announce_created(step)
    trail.head_rev, trail.last_touched = locked.head_rev, locked.last_touched
    return step


def replace_state(step: Step, state: dict) -> Step:
    """Replace the state of a revision the device has not picked up yet (NEW)."""
    owner = _owner_of(step.trail)
    sha = validated_state_sha(state)
    check_signatures(step.trail.device, state)
    ensure_present(owner, ts.required_shas(state))
    with transaction.atomic():
        locked = Step.objects.select_for_update().get(pk=step.pk)
        if locked.status != st.NEW:
            raise Conflict(
                f"only a NEW revision's state can be replaced; revision {locked.rev}"
                f" is {locked.status}: post a new revision instead",
                code="not-new",
            )
        previous_sha = locked.state_sha
        _check_objects(owner, state)
        locked.state, locked.state_sha, locked.signed = state, sha, is_signed(state)
        locked.save(update_fields=["state", "state_sha", "signed", "time_modified"])
        locked.object_refs.all().delete()
        audit.record(
            "revision.state",
            owner=owner,
            target=step.trail.device,
            before={"rev": locked.rev, "state-sha": previous_sha},
            after={"rev": locked.rev, "state-sha": sha},
        )
        _record_objects(locked)
    return locked


def set_meta(step: Step, meta: dict) -> Step:
    """Replace a revision's free-form meta (any status)."""
    with transaction.atomic():
        Step.objects.filter(pk=step.pk).update(meta=meta, time_modified=timezone.now())
        pollcache.changed(step.trail_id)  # an update() sends no post_save
    step.meta = meta
    return step


def move_status(step: Step, status: str, actor: st.Actor, **fields: Any) -> Step:
    """Move ``step`` to ``status`` for ``actor`` ("device" or "owner"): the one
    place the progress state machine (``trail.status``) is enforced.

    The row is locked and re-read, so concurrent reports are checked one
    after the other, each against the status the one before it left. The
    device's report is its last word (QUEUED again on a resumed update, ERROR
    after DONE), within what the table allows. Reporting the current status
    again updates the other fields, except on a final status, which a repeat
    leaves as it is. ``fields`` are among :data:`PROGRESS_FIELDS`. Each change
    is noted in the step's history (:class:`ProgressReport`), and
    ``step_progressed`` is sent after commit.
    """
    with transaction.atomic():
        locked = Step.objects.select_for_update().get(pk=step.pk)
        try:
            st.check_transition(locked.status, status, actor)
        except st.TransitionError as exc:
            if exc.code == "unknown-status":
                raise DomainError(str(exc), code=exc.code) from None
            raise Conflict(str(exc), code=exc.code, status=locked.status) from None
        previous = locked.status
        if previous == status and locked.is_final:  # a final status, repeated: nothing changes
            return locked
        locked.status = status
        for name, value in fields.items():
            if name not in PROGRESS_FIELDS:
                raise TypeError(f"not a progress field: {name}")
            setattr(locked, name, value)
        locked.progress_time = timezone.now()
        locked.save()
        ProgressReport.record(locked, actor)
        if actor == "owner":  # a device's own reports are too many to record (portal/audit.py)
            audit.record(
                "revision.status",
                owner=step.trail.device.owner_id,
                target=step.trail.device,
                before={"rev": locked.rev, "status": previous},
                after={"rev": locked.rev, "status": status},
            )
        transaction.on_commit(
            lambda: step_progressed.send(sender=Step, step=locked, previous=previous)
        )
    return locked


def report_progress(step: Step, status: str, **fields: Any) -> Step:
    """The device's progress report (``PUT …/progress``)."""
    return move_status(step, status, "device", **fields)


def cancel_step(step: Step) -> Step:
    """The owner cancels a revision the device has not picked up (NEW → CANCEL)."""
    return move_status(step, st.CANCEL, "owner", status_msg="cancelled by the owner")


def wontgo_step(step: Step) -> Step:
    """The owner refuses a revision before it is installed (→ WONTGO)."""
    return move_status(step, st.WONTGO, "owner", status_msg="marked WONTGO by the owner")
