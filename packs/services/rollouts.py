"""Propagation: a leader's revision becomes a rollout, waves are judged, deliveries posted.

The rollout state machine (``packs.rollout``) is applied here, under the
rollout's row lock; each follower's post is a delivery, posted exactly once.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from devices.models import Device
from packs import rollout as ro
from packs.models import Delivery, Pack, PackMember, Rollout, Wave
from packs.signals import rollout_moved
from portal import audit, queue
from portal.errors import DomainError
from revisions.models import Step, Trail
from revisions.services import post_step
from trail import status as st

#: A pending delivery of a started wave older than this is queued again (a lost message).
STALE_DELIVERY = dt.timedelta(minutes=2)
#: Statuses after which a revision is no longer on its way to the device.
GAVE_UP = st.FAILED | {st.CANCEL}


# --- The leader's revision --------------------------------------------------------


def leader_revision(leader: Device) -> Step | None:
    """The revision a leader has reached: its running one, or for a leader without
    hardware (which never installs anything) its newest one that was not cancelled."""
    steps = Step.objects.filter(trail_id=leader.id)
    if leader.has_hardware:
        return steps.running().first()
    return steps.exclude(status__in=GAVE_UP).order_by("-rev").first()


def follow_leader_after_commit(pack: Pack) -> None:
    def follow() -> None:
        current = Pack.objects.filter(pk=pack.pk).select_related("leader").first()
        step = leader_revision(current.leader) if current else None
        if step is not None:
            enqueue("start_rollout", current.id, step.id)

    transaction.on_commit(follow)


def step_created(step: Step) -> None:
    """A revision was posted (receiver of ``revisions.signals.step_created``).

    A leader without hardware has reached it at once; a device's factory
    revision (a follower that joined before it first booted) lets it catch up.
    """
    packs = Pack.objects.filter(leader_id=step.trail_id).values_list("id", "leader__has_hardware")
    for pack_id, has_hardware in packs:
        if step.reached(has_hardware):
            enqueue("start_rollout", pack_id, step.id)
    if step.rev == 0:
        _catch_up_device(step.trail_id)


def _catch_up_device(device_id: str) -> None:
    """A follower posted its factory revision: catch it up (under the pack's lock, like a join)."""
    with transaction.atomic():
        member = PackMember.objects.filter(device_id=device_id).first()
        if member is None:
            return
        pack = (
            Pack.objects.select_for_update(of=("self",))
            .select_related("leader", "owner")
            .get(pk=member.pack_id)
        )
        catch_up(pack, Device.objects.get(pk=device_id))


def step_progressed(step: Step) -> None:
    """A revision's status moved (receiver of ``revisions.signals.step_progressed``).

    The leader reaching DONE/UPDATED starts a rollout; a follower's revision
    reaching a final status may decide its wave. Other reports cost no query.
    """
    if step.status in st.RUNNING_OK:
        led = Pack.objects.filter(leader_id=step.trail_id, leader__has_hardware=True)
        for pack_id in led.values_list("id", flat=True):
            enqueue("start_rollout", pack_id, step.id)
    if step.status in st.FINAL:
        rollouts = Delivery.objects.filter(step=step, kind=ro.RELEASE, rollout__status=ro.RUNNING)
        for rollout_id in set(rollouts.values_list("rollout_id", flat=True)):
            enqueue("evaluate_rollout", rollout_id)


# --- Rollouts -----------------------------------------------------------------------


def start_rollout(pack_id: str, leader_step_id: int) -> Rollout | None:
    """Roll the leader revision ``leader_step_id`` out to the pack's followers.

    Safe to call twice or late: a rollout of that revision is returned as it
    is, and a revision older than the newest one rolled out starts nothing.
    A running or paused rollout of an older revision is superseded.
    """
    with transaction.atomic():
        pack = (
            Pack.objects.select_for_update(of=("self",))
            .select_related("leader")
            .filter(pk=pack_id)
            .first()
        )
        step = Step.objects.filter(pk=leader_step_id).first()
        if pack is None or step is None or step.trail_id != pack.leader_id:
            return None  # the pack, or this leader, is gone since
        existing = Rollout.objects.filter(pack=pack, leader_step=step).first()
        if existing is not None:
            return existing
        newer = Rollout.objects.filter(
            pack=pack, leader_step__trail_id=step.trail_id, leader_step__rev__gt=step.rev
        )
        if newer.exists():
            return None
        now = timezone.now()
        for older in Rollout.objects.select_for_update().filter(pack=pack).active():
            end(older, "supersede", f"superseded by {pack.leader.nick} rev {step.rev}", now)
        rollout = Rollout.objects.create(
            pack=pack,
            leader_step=step,
            failure_threshold=pack.failure_threshold,
            wave_timeout=pack.wave_timeout,
            time_created=now,
        )
        followers = list(pack.members.order_by("time_joined", "device_id"))
        deliveries = []
        for number, (kind, size) in enumerate(
            ro.plan_waves(len(followers), pack.canary_share, pack.wave_size), start=1
        ):
            wave = Wave.objects.create(rollout=rollout, number=number, kind=kind)
            batch, followers = followers[:size], followers[size:]
            deliveries += [
                Delivery(rollout=rollout, wave=wave, device_id=m.device_id, source=step)
                for m in batch
            ]
        Delivery.objects.bulk_create(deliveries)
        _record(rollout, "rollout.start", None)
        advance(rollout, now)
    return rollout


def catch_up(pack: Pack, device: Device) -> Delivery | None:
    """Bring a follower that joined later to the leader's current revision.

    It joins the rollout of that revision: in its last wave while that has
    not started, else at once. Nothing is posted for a rollout the owner
    stopped (aborted or reverted). Call inside a transaction.
    """
    step = leader_revision(pack.leader)
    if step is None:
        return None
    rollout = Rollout.objects.filter(pack=pack, leader_step=step).first()
    if rollout is None:
        # The leader's revision was never rolled out (a new pack, a new leader, or its
        # task has not run yet): roll it out now, to every follower.
        transaction.on_commit(lambda: enqueue("start_rollout", pack.id, step.id))
        return None
    if rollout.status not in (*ro.ACTIVE, ro.COMPLETED):
        return None
    delivery = Delivery.objects.filter(rollout=rollout, device=device, kind=ro.RELEASE).first()
    if delivery is not None:
        if delivery.status in (ro.D_CANCELLED, ro.D_FAILED, ro.D_PENDING):
            delivery.status, delivery.error = ro.D_PENDING, ""
            delivery.save(update_fields=["status", "error"])
            kick([delivery.id])  # it waits if its wave has not started or the rollout is paused
        return delivery
    last = rollout.waves.order_by("-number").first()
    wave = last if last is not None and last.status == ro.PENDING else None
    delivery = Delivery.objects.create(rollout=rollout, wave=wave, device=device, source=step)
    if wave is None:
        kick([delivery.id])
    return delivery


def deliver(delivery_id: int, now: dt.datetime | None = None) -> str | None:
    """Post one delivery's revision to its follower, exactly once; returns its status.

    The delivery row is locked, and the revision is posted and recorded in
    one transaction: run twice, or after a worker died half-way, it posts
    nothing twice and skips no one. A follower that already has the state
    (its newest revision, not failed) is followed as it is, without a new
    revision. Deliveries of a paused rollout wait for it to resume.
    """
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None or delivery.status != ro.D_PENDING:
            return delivery.status if delivery else None
        rollout = Rollout.objects.select_related("pack__owner", "pack__leader", "leader_step").get(
            pk=delivery.rollout_id
        )
        pack = rollout.pack
        if delivery.kind == ro.RELEASE:
            if rollout.status == ro.PAUSED:
                return delivery.status  # resume queues it again
            if rollout.status not in (ro.RUNNING, ro.COMPLETED):
                return _finish(delivery, ro.D_CANCELLED, f"the rollout was {rollout.status}")
            if delivery.wave_id is not None:
                wave_status = Wave.objects.values_list("status", flat=True).get(pk=delivery.wave_id)
                if wave_status == ro.PENDING:
                    return delivery.status  # its wave starts later
            elif not pack.in_window(now or timezone.now()):
                # A late joiner goes inside a window too; the sweep releases it.
                delivery.error = "waiting for a maintenance window"
                delivery.save(update_fields=["error"])
                return delivery.status
        if not PackMember.objects.filter(pack=pack, device_id=delivery.device_id).exists():
            return _finish(delivery, ro.D_CANCELLED, "the device left the pack")
        trail = Trail.objects.select_related("device__owner").filter(pk=delivery.device_id).first()
        if trail is None or trail.head_rev < 0:
            # Not a failure: the device has not started yet. Its factory revision kicks it.
            delivery.error = "waiting for the device's factory revision"
            delivery.save(update_fields=["error"])
            return delivery.status
        if trail.device.owner_id != pack.owner_id:
            return _finish(delivery, ro.D_FAILED, "the device is no longer the pack owner's")
        source = Step.objects.get(pk=delivery.source_id)
        head = trail.steps.order_by("-rev").first()
        running = trail.running_step()
        if (
            delivery.kind == ro.RELEASE
            and head.state_sha == source.state_sha
            and head.status not in GAVE_UP
        ):
            delivery.step = head
            delivery.previous = running if running and running.pk != head.pk else None
            status = ro.D_CURRENT
        else:
            try:
                with transaction.atomic():
                    delivery.step = post_step(
                        trail,
                        source.state,
                        commit_msg=_commit_msg(delivery, rollout, source),
                        author=pack.owner,
                        forked_from=source,
                        link_public=True,
                    )
            except DomainError as exc:
                return _finish(delivery, ro.D_FAILED, exc.message)
            if delivery.kind == ro.RELEASE:
                delivery.previous = running
            status = ro.D_POSTED
        _finish(delivery, status)
    return status


def _commit_msg(delivery: Delivery, rollout: Rollout, source: Step) -> str:
    pack, leader_step = rollout.pack, rollout.leader_step
    origin = f"pack {pack.nick}: {pack.leader.nick} rev {leader_step.rev}"
    if delivery.kind == ro.REVERT:
        return f"revert to rev {source.rev} [{origin} reverted]"
    return f"{leader_step.commit_msg or 'no message'} [{origin}]"[:10_000]


def _finish(delivery: Delivery, status: str, error: str = "") -> str:
    delivery.status, delivery.error = status, error
    if status in (ro.D_POSTED, ro.D_CURRENT):
        delivery.time_posted = timezone.now()
    delivery.save(update_fields=["status", "error", "step", "previous", "time_posted"])
    # A failed post, or a revision that was already final, may decide the wave.
    if delivery.kind == ro.RELEASE and delivery.outcome != ro.WAITING:
        evaluate_after_commit([delivery.rollout_id])
    return status


def evaluate(rollout_id: str, now: dt.datetime | None = None) -> Rollout | None:
    """Judge the rollout's running wave and move on: start the next wave, pause, or finish.

    Safe to call at any time and any number of times (under the rollout's lock).
    """
    with transaction.atomic():
        rollout = Rollout.objects.select_for_update().filter(pk=rollout_id).first()
        if rollout is not None:
            advance(rollout, now or timezone.now())
    return rollout


def advance(rollout: Rollout, now: dt.datetime) -> None:
    """Run the rollout's state machine for as long as it can move on its own."""
    started: list[Wave] = []
    while rollout.status == ro.RUNNING:
        waves = list(rollout.waves.order_by("number"))
        current = next((w for w in waves if w.status == ro.WAVE_RUNNING), None)
        if current is None:
            upcoming = next((w for w in waves if w.status == ro.PENDING), None)
            if upcoming is None:
                # Not "every wave passed": a failed wave may have been resumed. What the
                # rollout came to is worded from its tallies (rollout.summarize).
                message = (
                    "the last wave finished" if waves else "no followers then; later ones catch up"
                )
                move(rollout, "done", message, now)
                break
            if not rollout.pack.in_window(now):
                # Outside the pack's start time and windows: the sweep starts it later.
                message = _held_msg(rollout.pack, upcoming, len(waves), now)
                if rollout.status_msg != message:
                    rollout.status_msg = message
                    rollout.save(update_fields=["status_msg", "time_modified"])
                break
            move_wave(upcoming, "start", "", now)
            started.append(upcoming)
            rollout.status_msg = f"wave {upcoming.number} of {len(waves)} ({upcoming.kind}) started"
            rollout.save(update_fields=["status_msg", "time_modified"])
            continue
        tally = wave_tally(current)
        deadline = current.deadline(rollout.wave_timeout)
        verdict = ro.judge(tally, rollout.failure_threshold, now >= deadline)
        if verdict is None:
            break
        message = _verdict_msg(current, tally, rollout, timed_out=now >= deadline)
        move_wave(current, verdict, message, now)
        move(rollout, "wave-failed" if verdict == "fail" else "wave-passed", message, now)
    if started:
        ids = Delivery.objects.filter(
            wave__in=started, kind=ro.RELEASE, status=ro.D_PENDING
        ).values_list("id", flat=True)
        kick(list(ids))


def _held_msg(pack: Pack, wave: Wave, count: int, now: dt.datetime) -> str:
    at = pack.next_wave_at(now)
    when = f"at {at:%Y-%m-%d %H:%M} UTC" if at is not None else "never: no window opens"
    return f"wave {wave.number} of {count} ({wave.kind}) waits for a maintenance window: {when}"


def _verdict_msg(wave: Wave, tally: ro.Tally, rollout: Rollout, timed_out: bool) -> str:
    name = f"wave {wave.number} ({wave.kind})"
    if tally.failure_share > rollout.failure_threshold:
        return (
            f"{name}: {tally.failed} of {tally.size} devices failed ({tally.failure_share:.0%}),"
            f" over the threshold of {rollout.failure_threshold:.0%}; resume, abort or revert"
        )
    message = f"{name}: {tally.ok} of {tally.size} ok, {tally.failed} failed"
    if tally.waiting and timed_out:
        message += f", {tally.waiting} not finished after {rollout.wave_timeout}s"
    return message


def move(rollout: Rollout, event: str, message: str, now: dt.datetime) -> None:
    previous = rollout.status
    rollout.status = ro.move_rollout(rollout.status, event)
    if message:
        rollout.status_msg = message
    if rollout.status not in ro.ACTIVE and rollout.time_finished is None:
        rollout.time_finished = now
    rollout.save(update_fields=["status", "status_msg", "time_finished", "time_modified"])
    if rollout.status != previous and event in AUDITED:
        _record(rollout, AUDITED[event], previous)
    if rollout.status != previous:
        moved = {"rollout": rollout, "status": rollout.status, "previous": previous}
        transaction.on_commit(lambda: rollout_moved.send(sender=Rollout, **moved))


#: The rollout events the audit log records; passed waves, completion and superseding
#: follow from others and are not recorded.
AUDITED = {
    "wave-failed": "rollout.pause",
    "resume": "rollout.resume",
    "abort": "rollout.abort",
    "revert": "rollout.revert",
}


def _record(rollout: Rollout, action: str, previous: str | None) -> None:
    audit.record(
        action,
        owner=rollout.pack.owner_id,
        target=rollout.pack,
        before=None if previous is None else {"rollout": rollout.id, "status": previous},
        after={
            "rollout": rollout.id,
            "rev": rollout.leader_step.rev,
            "status": rollout.status,
            "message": rollout.status_msg[:300],
        },
    )


def move_wave(wave: Wave, event: str, message: str, now: dt.datetime) -> None:
    wave.status = ro.move_wave(wave.status, event)
    if message:
        wave.status_msg = message
    if event == "start":
        wave.time_started = now
    elif wave.time_decided is None:
        wave.time_decided = now
    wave.save(update_fields=["status", "status_msg", "time_started", "time_decided"])


def end(rollout: Rollout, event: str, message: str, now: dt.datetime) -> None:
    """Stop a rollout (abort, supersede, revert): no wave starts and nothing pending is posted."""
    move(rollout, event, message, now)
    for wave in rollout.waves.filter(status__in=(ro.PENDING, ro.WAVE_RUNNING)):
        move_wave(wave, "skip" if wave.status == ro.PENDING else "stop", message, now)
    pending = Delivery.objects.select_for_update().filter(
        rollout=rollout, kind=ro.RELEASE, status=ro.D_PENDING
    )
    Delivery.objects.filter(pk__in=list(pending.values_list("pk", flat=True))).update(
        status=ro.D_CANCELLED, error=f"the rollout was {rollout.status}"
    )


def kick(delivery_ids: list[int]) -> None:
    """Queue the deliveries once the transaction commits (so the task finds the rows)."""
    for delivery_id in delivery_ids:
        transaction.on_commit(lambda delivery_id=delivery_id: enqueue("deliver", delivery_id))


def evaluate_after_commit(rollout_ids: Iterable[str]) -> None:
    for rollout_id in set(rollout_ids):
        transaction.on_commit(lambda rid=rollout_id: enqueue("evaluate_rollout", rid))


def enqueue(name: str, *args) -> None:
    """Queue the pack task ``name`` (run inline when Celery is eager).

    Called after the transaction that made the work committed: a failure here
    is logged (portal.queue) and left to the periodic sweep and the next read,
    which find the work still to do; it never fails the request that reported
    a device's progress or the owner's action, whose changes are already saved.
    """
    from packs import tasks  # the tasks call back into this module

    queue.enqueue(getattr(tasks, name), *args)


# --- Tallies -------------------------------------------------------------------


def wave_tally(wave: Wave) -> ro.Tally:
    return tallies(Delivery.objects.filter(wave=wave)).get((wave.rollout_id, wave.id), ro.Tally())


def tallies(deliveries: QuerySet) -> dict[tuple[str, int | None], ro.Tally]:
    """Outcomes of release deliveries per ``(rollout id, wave id)`` (wave None: joined
    late), in one query."""
    rows = (
        deliveries.filter(kind=ro.RELEASE)
        .values("rollout_id", "wave_id", "status", "step__status")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ro.OUTCOMES, 0))
    for row in rows:
        key = (row["rollout_id"], row["wave_id"])
        counts[key][ro.outcome(row["status"], row["step__status"])] += row["n"]
    return {
        key: ro.Tally(c[ro.OK], c[ro.FAILURE], c[ro.NEUTRAL], c[ro.WAITING])
        for key, c in counts.items()
    }
