"""Membership: who may lead and follow a pack, and the loop check. Finding packs."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import Http404

from devices.models import Device
from packs import rollout as ro
from packs import rules, windows
from packs.models import Delivery, Pack, PackMember, Rollout
from packs.services.rollouts import (
    catch_up,
    evaluate_after_commit,
    follow_leader_after_commit,
)
from portal import audit
from portal.errors import Conflict, DomainError, Forbidden
from portal.ids import is_id

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


def signing_rule(device: Device) -> str | None:
    """Why a pack requires signatures of ``device``'s revisions, or None (registered with
    ``devices.signing`` by ``PacksConfig.ready``; one query)."""
    nicks = sorted(Pack.objects.requiring_signatures_of(device.id).values_list("nick", flat=True))
    if not nicks:
        return None
    return f"pack {', '.join(nicks)} requires signatures"


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
        raise DomainError(
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
#: The settings of a pack: how it rolls out, and whether it requires signatures.
PACK_SETTINGS = (*ROLLOUT_SETTINGS, "require_signatures")


#: What decides a pack's followers and when its waves go: model field -> cleaner.
SCHEDULE = {
    "rule": rules.clean_rule,
    "windows": windows.clean_windows,
    "time_zone": windows.clean_timezone,
    "start_at": lambda value: value,
}


def _clean_schedule(fields: dict) -> dict:
    """Take the rule and schedule out of ``fields`` (a 400 for a bad one) and answer them."""
    return {name: clean(fields.pop(name)) for name, clean in SCHEDULE.items() if name in fields}


def _sync(pack: Pack) -> None:
    from packs.services.dynamic import sync_pack  # it adds and removes through this module

    sync_pack(pack)


def _dynamic_refusal(pack: Pack) -> Conflict:
    return Conflict(
        f"pack {pack.nick} picks its followers by its rule: change the devices' tags or the"
        " rule instead",
        code="dynamic-pack",
    )


def create_pack(owner, *, nick: str, leader: Device, description: str = "", **settings) -> Pack:
    """A new pack of ``owner`` led by ``leader`` (one of the owner's devices).

    When the leader already runs a revision, it becomes the pack's first
    rollout (with no followers yet): followers that join catch up to it.
    ``require_signatures`` requires signatures of the leader's and the followers'
    revisions (``signing_rule``): a delivery of an unsigned revision fails.
    """
    schedule = _clean_schedule(settings)
    unknown = set(settings) - set(PACK_SETTINGS)
    if unknown:
        raise TypeError(f"not a pack setting: {', '.join(sorted(unknown))}")
    try:
        with transaction.atomic():
            _lock_owner(owner)
            if _nick_taken(owner, nick):
                raise _conflict_nick(nick)
            _check_leader(leader, owner, set())
            pack = Pack.objects.create(
                owner=owner, nick=nick, leader=leader, description=description, **settings
            )
            for name, value in schedule.items():
                setattr(pack, name, value)
            if schedule:
                pack.save()
            audit.record("pack.create", owner=owner, target=pack, after=_shown(pack))
            follow_leader_after_commit(pack)
            if pack.is_dynamic:
                _sync(pack)
    except IntegrityError:
        raise _conflict_nick(nick) from None
    return pack


def update_pack(pack: Pack, **changes) -> Pack:
    """Apply the owner's edits: ``nick``, ``description``, ``leader``, the settings.

    A new leader is checked like a follower is (owned, no loop), and its
    current revision is rolled out to the followers.
    """
    schedule = _clean_schedule(changes)
    allowed = {"nick", "description", "leader", *PACK_SETTINGS}
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
            if leader is not None and new_leader:
                followers = set(locked.members.values_list("device_id", flat=True))
                _check_leader(leader, pack.owner, followers)
            before = _shown(locked)
            for name, value in changes.items():
                setattr(locked, name, value)
            for name, value in schedule.items():
                setattr(locked, name, value)
            locked.save()
            before, after = audit.changed(before, _shown(locked))
            audit.record(
                "pack.update", owner=locked.owner_id, target=locked, before=before, after=after
            )
            if "rule" in schedule or (new_leader and locked.is_dynamic):
                _sync(locked)
            if new_leader:
                follow_leader_after_commit(locked)
    except IntegrityError:
        raise _conflict_nick(changes.get("nick", pack.nick)) from None
    return locked


def delete_pack(pack: Pack) -> None:
    """Delete a pack, its memberships and its rollouts' records (revisions stay on the trails)."""
    with transaction.atomic():
        audit.record("pack.delete", owner=pack.owner_id, target=pack, before=_shown(pack))
        pack.delete()


def _shown(pack: Pack) -> dict:
    """What the audit log keeps of a pack: its fields, the leader by id."""
    fields = [field.attname for field in Pack._meta.concrete_fields if not field.primary_key]
    kept = {name: getattr(pack, name) for name in fields if name not in _UNSHOWN}
    return {
        name.removesuffix("_id"): value[:200] if isinstance(value, str) else value
        for name, value in kept.items()
    }


_UNSHOWN = {"owner_id", "time_created", "time_modified"}


def _member(device: Device) -> dict:
    return {"device": device.id, "nick": device.nick}


def add_follower(pack: Pack, device: Device, *, by_rule: bool = False) -> tuple[PackMember, bool]:
    """Make ``device`` follow ``pack``; returns ``(member, created)``.

    Adding a follower twice is harmless. The device must be the pack owner's,
    follow no other pack, and not lead this pack (directly or through other
    packs). A new follower catches up to the leader's current revision. A
    dynamic pack's followers come from its rule only (``by_rule``: dynamic.py).
    """
    with transaction.atomic():
        _lock_owner(pack.owner)
        pack = (
            Pack.objects.select_for_update(of=("self",))
            .select_related("leader", "owner")
            .get(pk=pack.pk)
        )
        _check_owned(device, pack.owner, "followers")
        if pack.is_dynamic and not by_rule:
            raise _dynamic_refusal(pack)
        if device.id == pack.leader_id:
            raise DomainError(
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
        audit.record("pack.follower-add", owner=pack.owner_id, target=pack, after=_member(device))
        catch_up(pack, device)
    return member, True


def remove_follower(pack: Pack, device: Device, *, by_rule: bool = False) -> PackMember:
    """Stop ``device`` following ``pack``; what was not posted to it yet never will be."""
    if pack.is_dynamic and not by_rule:
        raise _dynamic_refusal(pack)
    with transaction.atomic():
        member = PackMember.objects.filter(pack=pack, device=device).first()
        if member is None:
            raise Http404(f"{device.nick} does not follow pack {pack.nick}")
        member.delete()
        audit.record(
            "pack.follower-remove", owner=pack.owner_id, target=pack, before=_member(device)
        )
        pending = Delivery.objects.filter(
            rollout__pack=pack, device=device, kind=ro.RELEASE, status=ro.D_PENDING
        )
        rollout_ids = list(pending.values_list("rollout_id", flat=True))
        pending.update(status=ro.D_CANCELLED, error="the device left the pack")
        evaluate_after_commit(rollout_ids)
    return member
