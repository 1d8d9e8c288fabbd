"""Keeping rollouts moving without a scheduler: at read time, and from the periodic sweep."""

from __future__ import annotations

import datetime as dt

from django.core.cache import cache
from django.db.models import Case, Exists, OuterRef, Q, QuerySet, Subquery, When
from django.utils import timezone

from packs import rollout as ro
from packs.models import Delivery, Pack, Rollout
from packs.services.rollouts import GAVE_UP, STALE_DELIVERY, enqueue, evaluate
from revisions.models import Step

# --- Keeping rollouts moving without beat -------------------------------------------


def refresh_rollout(rollout: Rollout, now: dt.datetime | None = None) -> None:
    """Judge a running rollout whose wave deadline passed, and queue again the
    deliveries that should have been posted long ago (a lost task message).

    Called when a pack is read and by the periodic sweep: a wave's timeout is
    derived from timestamps, so it needs no scheduler to take effect.
    """
    now = now or timezone.now()
    if rollout.status != ro.RUNNING:
        return
    wave = rollout.waves.filter(status=ro.WAVE_RUNNING).first()
    if wave is not None and now >= wave.deadline(rollout.wave_timeout):
        evaluate(rollout.id, now)
    elif wave is None and rollout.pack.in_window(now):
        evaluate(rollout.id, now)  # a wave held for a window may start now
    stale = Delivery.objects.filter(
        Q(wave__time_started__lt=now - STALE_DELIVERY)
        | Q(wave__isnull=True, time_created__lt=now - STALE_DELIVERY),
        rollout=rollout,
        status=ro.D_PENDING,
    ).values_list("id", flat=True)
    stale = list(stale[:1000])
    # Many readers may look at once: queue them again at most once a minute.
    if stale and cache.add(f"packs:requeued:{rollout.id}", 1, timeout=60):
        for delivery_id in stale:
            enqueue("deliver", delivery_id)


def unrolled(packs: QuerySet) -> list[tuple[str, int]]:
    """``(pack id, step id)`` of the packs whose leader reached a revision that has no
    rollout yet (its task was lost), in one query."""
    steps = Step.objects.filter(trail_id=OuterRef("leader_id")).order_by("-rev").values("id")
    current = Case(
        When(
            leader__has_hardware=True,
            then=Subquery(steps.running()[:1]),
        ),
        default=Subquery(steps.exclude(status__in=GAVE_UP)[:1]),
    )
    rolled = Rollout.objects.filter(pack=OuterRef("pk"), leader_step_id=OuterRef("current"))
    return list(
        packs.annotate(current=current)
        .filter(current__isnull=False)
        .exclude(Exists(rolled))
        .values_list("id", "current")
    )


def refresh(pack: Pack, now: dt.datetime | None = None) -> None:
    """Bring ``pack`` up to date before it is shown: judge its running rollout (starting
    a wave a window held), roll out a leader revision whose rollout never started, and
    post the late joiners a window held."""
    for pack_id, step_id in unrolled(Pack.objects.filter(pk=pack.pk)):
        enqueue("start_rollout", pack_id, step_id)
    rollout = pack.rollouts.filter(status=ro.RUNNING).first()
    if rollout is not None:
        refresh_rollout(rollout, now)
    # Many readers may look at once: release what a window held at most once a minute.
    now = now or timezone.now()
    if (
        pack.is_scheduled
        and pack.in_window(now)
        and cache.add(f"packs:released:{pack.id}", 1, timeout=60)
    ):
        release_held(now, pack)


def release_held(now: dt.datetime | None = None, pack: Pack | None = None) -> list[int]:
    """Post the late joiners' deliveries that waited for their pack's window (of every
    pack, or of ``pack``), now that it is open (``deliver`` holds them outside it);
    returns their ids."""
    now = now or timezone.now()
    held = (
        Delivery.objects.filter(
            kind=ro.RELEASE,
            status=ro.D_PENDING,
            wave__isnull=True,
            rollout__status__in=(ro.RUNNING, ro.COMPLETED),
        )
        .filter(Q(rollout__pack__start_at__isnull=False) | ~Q(rollout__pack__windows=[]))
        .select_related("rollout__pack")
    )
    if pack is not None:
        held = held.filter(rollout__pack=pack)
    released = [d.id for d in held[:1000] if d.rollout.pack.in_window(now)]
    for delivery_id in released:
        enqueue("deliver", delivery_id)
    return released


def sweep(now: dt.datetime | None = None) -> int:
    """The periodic task: start the rollouts whose task was lost, refresh every running
    rollout (starting the waves a window held), and post the late joiners a window held;
    returns how many rollouts it looked at."""
    missing = unrolled(Pack.objects.all())
    for pack_id, step_id in missing:
        enqueue("start_rollout", pack_id, step_id)
    rollouts = list(Rollout.objects.filter(status=ro.RUNNING).select_related("pack"))
    for rollout in rollouts:
        refresh_rollout(rollout, now)
    release_held(now)
    return len(rollouts) + len(missing)
