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

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, When
from django.http import Http404
from django.utils import timezone

from devices.models import Device
from devices.packs import rollout as ro
from devices.packs.models import Delivery, Pack, PackMember, Rollout, Wave
from devices.packs.querysets import with_revisions
from devices.services import Forbidden
from portal.errors import APIError, Conflict
from portal.ids import is_id
from revisions.models import Step, Trail
from revisions.services import cancel_step, post_step
from trail import status as st

log = logging.getLogger(__name__)

#: A pending delivery of a started wave older than this is queued again (a lost message).
STALE_DELIVERY = dt.timedelta(minutes=2)
#: Statuses after which a revision is no longer on its way to the device.
_GAVE_UP = frozenset({st.ERROR, st.WONTGO, st.CANCEL})


# --- Finding packs ------------------------------------------------------------


def get_pack(user, ref: str, queryset: QuerySet | None = None) -> Pack:
    """The pack ``ref`` (its id, or its nick among the caller's packs) if ``user`` owns it; else 404.

    Packs are private: someone else's pack is absent, not forbidden.
    """
    base = queryset if queryset is not None else Pack.objects.select_related("leader", "owner")
    ref = (ref or "").strip().removeprefix("prn:::packs:/")
    condition = Q(id=ref) if is_id(ref) else Q(nick=ref)
    pack = base.visible_to(user).filter(condition).first()
    if pack is None:
        raise Http404(f"no such pack: {ref}")
    return pack


def get_member(pack: Pack, device: Device) -> PackMember:
    member = PackMember.objects.filter(pack=pack, device=device).first()
    if member is None:
        raise Http404(f"{device.nick} does not follow pack {pack.nick}")
    return member


def get_rollout(pack: Pack, rollout_id: str) -> Rollout:
    rollout = Rollout.objects.select_related("leader_step").filter(pack=pack, id=rollout_id).first()
    if rollout is None:
        raise Http404(f"no such rollout in pack {pack.nick}: {rollout_id}")
    return rollout


# --- Membership rules -----------------------------------------------------------


def _lock_owner(owner) -> None:
    """Serialise membership and leader changes of one owner's packs.

    Every member of a pack is its owner's device, so a loop can only form
    among one owner's packs: holding the owner's row while checking and
    writing is enough to keep two concurrent requests from closing one.
    """
    get_user_model().objects.select_for_update().filter(pk=owner.pk).first()


def leaders_above(device_id: str) -> list[Device]:
    """The leaders that ``device_id`` follows, nearest first: its pack's leader, that
    leader's pack's leader, and so on."""
    chain: list[Device] = []
    seen = {device_id}
    current = device_id
    while True:
        member = PackMember.objects.select_related("pack__leader").filter(device_id=current).first()
        if member is None or member.pack.leader_id in seen:
            return chain
        leader = member.pack.leader
        chain.append(leader)
        seen.add(leader.id)
        current = leader.id


def _loop_error(follower: Device, chain: list[Device], leader: Device) -> Conflict:
    """``follower`` is ``chain[i]``: it leads, through ``chain[:i]``, the pack's leader."""
    index = next(i for i, above in enumerate(chain) if above.id == follower.id)
    path = " → ".join(d.nick for d in [follower, *reversed(chain[:index]), leader, follower])
    return Conflict(
        f"this would make a loop of packs: {path}; a device cannot follow its own"
        " revisions, even through other packs",
        code="pack-loop",
    )


def _check_owned(device: Device, owner, role: str) -> None:
    if device.owner_id != owner.pk:
        raise Forbidden(
            f"{device.nick} is not yours: a pack's {role} must be one of your own devices",
            "not-your-device",
        )


def _check_leader(leader: Device, owner, follower_ids: set[str]) -> None:
    """Raise unless ``leader`` may lead a pack of ``owner`` followed by ``follower_ids``."""
    _check_owned(leader, owner, "leader")
    if leader.id in follower_ids:
        raise APIError(
            f"{leader.nick} follows this pack, so it cannot lead it: remove it from the"
            " followers first",
            code="own-leader",
        )
    chain = leaders_above(leader.id)
    for index, above in enumerate(chain):
        if above.id in follower_ids:
            path = " → ".join(d.nick for d in [*reversed(chain[: index + 1]), leader])
            raise Conflict(
                f"this would make a loop of packs: {path} → {above.nick}; {above.nick}"
                " follows this pack and leads its new leader through other packs",
                code="pack-loop",
            )


def _nick_taken(owner, nick: str, exclude: str | None = None) -> bool:
    packs = Pack.objects.filter(owner=owner, nick=nick)
    if exclude:
        packs = packs.exclude(id=exclude)
    return packs.exists()


def _conflict_nick(nick: str) -> Conflict:
    return Conflict(f"you already have a pack called {nick!r}; choose another nick", "nick-taken")


ROLLOUT_SETTINGS = ("canary_share", "wave_size", "failure_threshold", "wave_timeout")


def create_pack(owner, *, nick: str, leader: Device, description: str = "", **settings) -> Pack:
    """A new pack of ``owner`` led by ``leader`` (one of the owner's devices).

    When the leader already runs a revision, it becomes the pack's first
    rollout (with no followers yet): followers that join catch up to it.
    """
    unknown = set(settings) - set(ROLLOUT_SETTINGS)
    if unknown:
        raise TypeError(f"not a rollout setting: {', '.join(sorted(unknown))}")
    try:
        with transaction.atomic():
            _lock_owner(owner)
            if _nick_taken(owner, nick):
                raise _conflict_nick(nick)
            _check_leader(leader, owner, set())
            pack = Pack.objects.create(
                owner=owner, nick=nick, leader=leader, description=description, **settings
            )
            _follow_leader_after_commit(pack)
    except IntegrityError:
        raise _conflict_nick(nick) from None
    return pack


def update_pack(pack: Pack, **changes) -> Pack:
    """Apply the owner's edits: ``nick``, ``description``, ``leader``, rollout settings.

    A new leader is checked like a follower is (owned, no loop), and its
    current revision is rolled out to the followers.
    """
    allowed = {"nick", "description", "leader", *ROLLOUT_SETTINGS}
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"not a pack field: {', '.join(sorted(unknown))}")
    try:
        with transaction.atomic():
            _lock_owner(pack.owner)
            locked = (
                Pack.objects.select_for_update(of=("self",))
                .select_related("leader")
                .get(pk=pack.pk)
            )
            nick = changes.get("nick")
            if nick and nick != locked.nick and _nick_taken(locked.owner_id, nick, locked.id):
                raise _conflict_nick(nick)
            leader = changes.get("leader")
            new_leader = leader is not None and leader.id != locked.leader_id
            if new_leader:
                followers = set(locked.members.values_list("device_id", flat=True))
                _check_leader(leader, pack.owner, followers)
            for name, value in changes.items():
                setattr(locked, name, value)
            locked.save()
            if new_leader:
                _follow_leader_after_commit(locked)
    except IntegrityError:
        raise _conflict_nick(changes.get("nick", pack.nick)) from None
    return locked


def delete_pack(pack: Pack) -> None:
    """Delete a pack, its memberships and its rollouts' records (revisions stay on the trails)."""
    pack.delete()


def add_follower(pack: Pack, device: Device) -> tuple[PackMember, bool]:
    """Make ``device`` follow ``pack``; returns ``(member, created)``.

    Adding a follower twice is harmless. The device must be the pack owner's,
    follow no other pack, and not lead this pack (directly or through other
    packs). A new follower catches up to the leader's current revision.
    """
    with transaction.atomic():
        _lock_owner(pack.owner)
        pack = (
            Pack.objects.select_for_update(of=("self",))
            .select_related("leader", "owner")
            .get(pk=pack.pk)
        )
        _check_owned(device, pack.owner, "followers")
        if device.id == pack.leader_id:
            raise APIError(
                f"{device.nick} leads this pack; a device cannot follow itself", code="own-leader"
            )
        existing = PackMember.objects.select_related("pack").filter(device=device).first()
        if existing is not None:
            if existing.pack_id == pack.id:
                return existing, False
            raise Conflict(
                f"{device.nick} already follows pack {existing.pack.nick}; a device follows"
                " at most one pack: remove it there first",
                code="already-following",
                pack=existing.pack_id,
            )
        chain = leaders_above(pack.leader_id)
        if any(above.id == device.id for above in chain):
            raise _loop_error(device, chain, pack.leader)
        member = PackMember.objects.create(pack=pack, device=device)
        catch_up(pack, device)
    return member, True


def remove_follower(pack: Pack, device: Device) -> PackMember:
    """Stop ``device`` following ``pack``; what was not posted to it yet never will be."""
    with transaction.atomic():
        member = PackMember.objects.filter(pack=pack, device=device).first()
        if member is None:
            raise Http404(f"{device.nick} does not follow pack {pack.nick}")
        member.delete()
        pending = Delivery.objects.filter(
            rollout__pack=pack, device=device, kind=ro.RELEASE, status=ro.D_PENDING
        )
        rollout_ids = list(pending.values_list("rollout_id", flat=True))
        pending.update(status=ro.D_CANCELLED, error="the device left the pack")
        _evaluate_after_commit(rollout_ids)
    return member


# --- The leader's revision --------------------------------------------------------


def leader_revision(leader: Device) -> Step | None:
    """The revision a leader has reached: its running one, or for a leader without
    hardware (which never installs anything) its newest one that was not cancelled."""
    steps = Step.objects.filter(trail_id=leader.id)
    if leader.has_hardware:
        return steps.running().first()
    return steps.exclude(status__in=_GAVE_UP).order_by("-rev").first()


def _reached(step: Step, has_hardware: bool) -> bool:
    if has_hardware:
        return step.status in st.RUNNING_OK
    return step.status not in _GAVE_UP


def _follow_leader_after_commit(pack: Pack) -> None:
    def follow() -> None:
        current = Pack.objects.filter(pk=pack.pk).select_related("leader").first()
        step = leader_revision(current.leader) if current else None
        if step is not None:
            _enqueue("start_rollout", current.id, step.id)

    transaction.on_commit(follow)


def step_created(step: Step) -> None:
    """A revision was posted (receiver of ``revisions.signals.step_created``).

    A leader without hardware has reached it at once; a device's factory
    revision (a follower that joined before it first booted) lets it catch up.
    """
    packs = Pack.objects.filter(leader_id=step.trail_id).values_list("id", "leader__has_hardware")
    for pack_id, has_hardware in packs:
        if _reached(step, has_hardware):
            _enqueue("start_rollout", pack_id, step.id)
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
            _enqueue("start_rollout", pack_id, step.id)
    if step.status in st.FINAL:
        rollouts = Delivery.objects.filter(step=step, kind=ro.RELEASE, rollout__status=ro.RUNNING)
        for rollout_id in set(rollouts.values_list("rollout_id", flat=True)):
            _enqueue("evaluate_rollout", rollout_id)


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
            _end(older, "supersede", f"superseded by {pack.leader.nick} rev {step.rev}", now)
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
        _advance(rollout, now)
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
        transaction.on_commit(lambda: _enqueue("start_rollout", pack.id, step.id))
        return None
    if rollout.status not in (*ro.ACTIVE, ro.COMPLETED):
        return None
    delivery = Delivery.objects.filter(rollout=rollout, device=device, kind=ro.RELEASE).first()
    if delivery is not None:
        if delivery.status in (ro.D_CANCELLED, ro.D_FAILED, ro.D_PENDING):
            delivery.status, delivery.error = ro.D_PENDING, ""
            delivery.save(update_fields=["status", "error"])
            _kick([delivery.id])  # it waits if its wave has not started or the rollout is paused
        return delivery
    last = rollout.waves.order_by("-number").first()
    wave = last if last is not None and last.status == ro.PENDING else None
    delivery = Delivery.objects.create(rollout=rollout, wave=wave, device=device, source=step)
    if wave is None:
        _kick([delivery.id])
    return delivery


def deliver(delivery_id: int) -> str | None:
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
            and head.status not in _GAVE_UP
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
            except APIError as exc:
                return _finish(delivery, ro.D_FAILED, str(exc.detail))
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
        _evaluate_after_commit([delivery.rollout_id])
    return status


def evaluate(rollout_id: str, now: dt.datetime | None = None) -> Rollout | None:
    """Judge the rollout's running wave and move on: start the next wave, pause, or finish.

    Safe to call at any time and any number of times (under the rollout's lock).
    """
    with transaction.atomic():
        rollout = Rollout.objects.select_for_update().filter(pk=rollout_id).first()
        if rollout is not None:
            _advance(rollout, now or timezone.now())
    return rollout


def _advance(rollout: Rollout, now: dt.datetime) -> None:
    """Run the rollout's state machine for as long as it can move on its own."""
    started: list[Wave] = []
    while rollout.status == ro.RUNNING:
        waves = list(rollout.waves.order_by("number"))
        current = next((w for w in waves if w.status == ro.WAVE_RUNNING), None)
        if current is None:
            upcoming = next((w for w in waves if w.status == ro.PENDING), None)
            if upcoming is None:
                message = "every wave passed" if waves else "no followers then; later ones catch up"
                _move(rollout, "done", message, now)
                break
            _move_wave(upcoming, "start", "", now)
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
        _move_wave(current, verdict, message, now)
        _move(rollout, "wave-failed" if verdict == "fail" else "wave-passed", message, now)
    if started:
        ids = Delivery.objects.filter(
            wave__in=started, kind=ro.RELEASE, status=ro.D_PENDING
        ).values_list("id", flat=True)
        _kick(list(ids))


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


def _move(rollout: Rollout, event: str, message: str, now: dt.datetime) -> None:
    rollout.status = ro.move_rollout(rollout.status, event)
    if message:
        rollout.status_msg = message
    if rollout.status not in ro.ACTIVE and rollout.time_finished is None:
        rollout.time_finished = now
    rollout.save(update_fields=["status", "status_msg", "time_finished", "time_modified"])


def _move_wave(wave: Wave, event: str, message: str, now: dt.datetime) -> None:
    wave.status = ro.move_wave(wave.status, event)
    if message:
        wave.status_msg = message
    if event == "start":
        wave.time_started = now
    elif wave.time_decided is None:
        wave.time_decided = now
    wave.save(update_fields=["status", "status_msg", "time_started", "time_decided"])


def _end(rollout: Rollout, event: str, message: str, now: dt.datetime) -> None:
    """Stop a rollout (abort, supersede, revert): no wave starts and nothing pending is posted."""
    _move(rollout, event, message, now)
    for wave in rollout.waves.filter(status__in=(ro.PENDING, ro.WAVE_RUNNING)):
        _move_wave(wave, "skip" if wave.status == ro.PENDING else "stop", message, now)
    pending = Delivery.objects.select_for_update().filter(
        rollout=rollout, kind=ro.RELEASE, status=ro.D_PENDING
    )
    Delivery.objects.filter(pk__in=list(pending.values_list("pk", flat=True))).update(
        status=ro.D_CANCELLED, error=f"the rollout was {rollout.status}"
    )


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
        _move(rollout, "resume", "resumed by the owner", timezone.now())
        # What the pause held back (the failed wave's unposted devices, late joiners) goes too.
        held = Delivery.objects.filter(
            Q(wave__status__in=ro.STARTED) | Q(wave__isnull=True),
            rollout=rollout,
            kind=ro.RELEASE,
            status=ro.D_PENDING,
        )
        _kick(list(held.values_list("id", flat=True)))
        _advance(rollout, timezone.now())
    return rollout


def abort(rollout: Rollout) -> Rollout:
    """The owner stops a running or paused rollout: nothing more is posted."""
    with _owner_action(rollout) as rollout:
        _end(rollout, "abort", "aborted by the owner", timezone.now())
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
                raise APIError(
                    f"this rollout has no wave {wave_number}", code="no-such-wave", status_code=404
                )
        if wave is None or wave.status not in ro.STARTED:
            raise Conflict("this wave has not started: nothing to revert", code="wave-not-started")
        if wave.status == ro.WAVE_REVERTED:
            raise Conflict(f"wave {wave.number} is already reverted", code="wave-reverted")
        now = timezone.now()
        _end(rollout, "revert", f"wave {wave.number} reverted by the owner", now)
        wave.refresh_from_db()
        _move_wave(wave, "revert", "reverted by the owner", now)
        taken = wave.deliveries.filter(
            kind=ro.RELEASE, status__in=(ro.D_POSTED, ro.D_CURRENT), previous__isnull=False
        ).exclude(step__status__in=_GAVE_UP)
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
        _kick(list(ids.values_list("id", flat=True)))
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


def _kick(delivery_ids: list[int]) -> None:
    """Queue the deliveries once the transaction commits (so the task finds the rows)."""
    if delivery_ids:
        transaction.on_commit(lambda: [_enqueue("deliver", i) for i in delivery_ids])


def _evaluate_after_commit(rollout_ids: Iterable[str]) -> None:
    for rollout_id in set(rollout_ids):
        transaction.on_commit(lambda rid=rollout_id: _enqueue("evaluate_rollout", rid))


def _enqueue(name: str, *args) -> None:
    """Queue a pack task (run inline when Celery is eager).

    Called after the transaction that made the work committed: a failure here
    (a broker away, an error in an eager task) is logged and left to the
    periodic sweep and the next read, which find the work still to do; it
    never fails the request that reported a device's progress or the owner's
    action, whose changes are already saved.
    """
    from devices.packs import tasks  # the tasks call back into this module

    try:
        getattr(tasks, name).delay(*args)
    except Exception:
        log.exception("packs: could not run %s%r; the sweep will retry", name, args)


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
            _enqueue("deliver", delivery_id)


def unrolled(packs: QuerySet) -> list[tuple[str, int]]:
    """``(pack id, step id)`` of the packs whose leader reached a revision that has no
    rollout yet (its task was lost), in one query."""
    steps = Step.objects.filter(trail_id=OuterRef("leader_id")).order_by("-rev").values("id")
    current = Case(
        When(
            leader__has_hardware=True,
            then=Subquery(steps.filter(status__in=st.RUNNING_OK)[:1]),
        ),
        default=Subquery(steps.exclude(status__in=_GAVE_UP)[:1]),
    )
    rolled = Rollout.objects.filter(pack=OuterRef("pk"), leader_step_id=OuterRef("current"))
    return list(
        packs.annotate(current=current)
        .filter(current__isnull=False)
        .exclude(Exists(rolled))
        .values_list("id", "current")
    )


def refresh(pack: Pack, now: dt.datetime | None = None) -> None:
    """Bring ``pack`` up to date before it is shown: judge its running rollout, and roll
    out a leader revision whose rollout never started."""
    for pack_id, step_id in unrolled(Pack.objects.filter(pk=pack.pk)):
        _enqueue("start_rollout", pack_id, step_id)
    rollout = pack.rollouts.filter(status=ro.RUNNING).first()
    if rollout is not None:
        refresh_rollout(rollout, now)


def sweep(now: dt.datetime | None = None) -> int:
    """The periodic task: start the rollouts whose task was lost, and refresh every
    running rollout; returns how many rollouts it looked at."""
    missing = unrolled(Pack.objects.all())
    for pack_id, step_id in missing:
        _enqueue("start_rollout", pack_id, step_id)
    rollouts = list(Rollout.objects.filter(status=ro.RUNNING))
    for rollout in rollouts:
        refresh_rollout(rollout, now)
    return len(rollouts) + len(missing)


# --- Reading ------------------------------------------------------------------


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


def with_tallies(rollouts: Iterable[Rollout]) -> list[Rollout]:
    """Load the rollouts' waves and outcomes in two queries, for showing them.

    Sets ``rollout.wave_list`` (each wave with ``.tally`` and ``.deadline_at``), ``rollout.late``
    (the tally of followers that joined after every wave started) and
    ``rollout.tally`` (all of them).
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
        rollout.tally = _sum([rollout.late, *(wave.tally for wave in rollout.wave_list)])
    return rollouts


def _sum(parts: list[ro.Tally]) -> ro.Tally:
    return ro.Tally(
        sum(t.ok for t in parts),
        sum(t.failed for t in parts),
        sum(t.cancelled for t in parts),
        sum(t.waiting for t in parts),
    )


def members(pack: Pack) -> list[Device]:
    """The leader then the followers (in join order), in two queries, each with ``role``,
    ``time_joined`` and its revisions (``head_rev``, ``head_status``, ``running_rev``)."""
    devices = with_revisions(Device.objects.select_related("owner"))
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
    ``follower_count``, ``active_rollout``, ``past_rollouts``, ``rollout_status`` and
    ``newest_rollout_id`` (the one rollout that may be reverted).
    """
    refresh(pack)
    pack.member_list = members(pack)
    followers = pack.member_list[1:]
    pack.follower_count = len(followers)
    pack.status_counts = status_counts(followers)
    rollouts = with_tallies(
        Rollout.objects.filter(pack=pack).select_related("leader_step")[: past + 1]
    )
    active = rollouts[0] if rollouts and rollouts[0].is_active else None
    pack.active_rollout = active
    pack.past_rollouts = [r for r in rollouts if r is not active][:past]
    pack.rollout_status = rollouts[0].status if rollouts else None
    pack.newest_rollout_id = rollouts[0].id if rollouts else None
    return pack
