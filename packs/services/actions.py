"""The owner's actions on a rollout: resume, abort, revert."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from packs import rollout as ro
from packs.models import Delivery, Rollout
from packs.services.rollouts import GAVE_UP, advance, end, kick, move, move_wave
from portal.errors import Conflict, DomainError
from revisions.models import Step
from revisions.services import cancel_step
from trail import status as st

log = logging.getLogger(__name__)


def _locked(rollout: Rollout) -> Rollout:
    return (
        Rollout.objects.select_for_update(of=("self",))
        .select_related("pack", "leader_step")
        .get(pk=rollout.pk)
    )


@contextmanager
def _owner_action(rollout: Rollout) -> Iterator[Rollout]:
    """Lock the rollout for an owner's action; a move its status does not allow is a 409."""
    with transaction.atomic():
        try:
            yield _locked(rollout)
        except ro.MoveError as exc:
            raise Conflict(str(exc), code="rollout-" + exc.status) from None


def resume(rollout: Rollout) -> Rollout:
    """The owner resumes a paused rollout: the next wave starts (or it completes)."""
    with _owner_action(rollout) as rollout:
        move(rollout, "resume", "resumed by the owner", timezone.now())
        # What the pause held back (the failed wave's unposted devices, late joiners) goes too.
        held = Delivery.objects.filter(
            Q(wave__status__in=ro.STARTED) | Q(wave__isnull=True),
            rollout=rollout,
            kind=ro.RELEASE,
            status=ro.D_PENDING,
        )
        kick(list(held.values_list("id", flat=True)))
        advance(rollout, timezone.now())
    return rollout


def abort(rollout: Rollout) -> Rollout:
    """The owner stops a running or paused rollout: nothing more is posted."""
    with _owner_action(rollout) as rollout:
        end(rollout, "abort", "aborted by the owner", timezone.now())
    return rollout


def revert(rollout: Rollout, wave_number: int | None = None) -> Rollout:
    """The owner reverts a wave: its followers get back the state they ran before.

    Each follower of the wave that took (or is taking) the leader's revision
    gets the revision it ran before posted again, as a new revision; one that
    has not picked the revision up yet has it cancelled instead. The
    rollout stops (it is *reverted*); only a pack's newest rollout can be
    reverted. ``wave_number`` defaults to the newest started wave.
    """
    with _owner_action(rollout) as rollout:
        newest = Rollout.objects.filter(pack_id=rollout.pack_id).order_by("-time_created", "-id")
        if newest.values_list("id", flat=True).first() != rollout.id:
            raise Conflict(
                "only the pack's newest rollout can be reverted: a newer one posted since",
                code="not-newest",
            )
        started = rollout.waves.filter(status__in=ro.STARTED).order_by("-number")
        if wave_number is None:
            wave = started.first()
        else:
            wave = rollout.waves.filter(number=wave_number).first()
            if wave is None:
                raise DomainError(
                    f"this rollout has no wave {wave_number}", code="no-such-wave", status_code=404
                )
        if wave is None or wave.status not in ro.STARTED:
            raise Conflict("this wave has not started: nothing to revert", code="wave-not-started")
        if wave.status == ro.WAVE_REVERTED:
            raise Conflict(f"wave {wave.number} is already reverted", code="wave-reverted")
        now = timezone.now()
        end(rollout, "revert", f"wave {wave.number} reverted by the owner", now)
        wave.refresh_from_db()
        move_wave(wave, "revert", "reverted by the owner", now)
        taken = wave.deliveries.filter(
            kind=ro.RELEASE, status__in=(ro.D_POSTED, ro.D_CURRENT), previous__isnull=False
        ).exclude(step__status__in=GAVE_UP)
        reverts = []
        for delivery in taken.select_related("step"):
            if delivery.step.status == st.NEW and _cancelled(delivery.step):
                continue  # not picked up yet: cancelling it is the whole revert
            reverts.append(
                Delivery(
                    rollout=rollout,
                    wave=wave,
                    device_id=delivery.device_id,
                    kind=ro.REVERT,
                    source_id=delivery.previous_id,
                )
            )
        Delivery.objects.bulk_create(reverts, ignore_conflicts=True)
        ids = Delivery.objects.filter(wave=wave, kind=ro.REVERT, status=ro.D_PENDING)
        kick(list(ids.values_list("id", flat=True)))
        log.info("rollout %s: wave %s reverted, %s devices", rollout.id, wave.number, len(reverts))
    return rollout


def _cancelled(step: Step) -> bool:
    """Cancel a revision its device has not picked up; False if the device just did."""
    try:
        with transaction.atomic():
            cancel_step(step)
    except Conflict:
        return False
    return True
