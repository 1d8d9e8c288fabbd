"""Dynamic packs: followers chosen by a rule over tags and device facts (packs/rules.py).

A dynamic pack's followers are exactly its owner's devices that match its
rule, besides its leader, and besides devices that follow another pack
already (a device follows at most one pack: the first to take it keeps it,
until it stops matching there). Membership is recomputed when the rule
changes (:func:`sync_pack`) and when a device's tags, facts or owner change
(:func:`device_changed`, from ``devices.signals.device_changed``). Joining
goes through ``add_follower`` (so a late joiner catches up), leaving through
``remove_follower``.
"""

from __future__ import annotations

from django.db import transaction

from devices.models import Device
from packs import rules
from packs.models import Pack, PackMember
from packs.services.membership import add_follower, remove_follower
from portal.errors import DomainError


def matches(pack: Pack, device: Device) -> bool:
    return (
        pack.rule is not None
        and device.owner_id == pack.owner_id
        and device.id != pack.leader_id
        and rules.matches(pack.rule, device.tags, device.rule_facts())
    )


def _join(pack: Pack, device: Device) -> bool:
    """Add ``device`` to ``pack`` if the membership rules allow it (a loop of packs, or a
    device that leads this pack's leader, stays out)."""
    try:
        add_follower(pack, device, by_rule=True)
    except DomainError:
        return False
    return True


def sync_pack(pack: Pack) -> tuple[int, int]:
    """Make a dynamic pack's followers the owner's devices that match its rule;
    returns ``(joined, left)``. Nothing for a pack without a rule."""
    pack = Pack.objects.select_related("leader", "owner").get(pk=pack.pk)
    if pack.rule is None:
        return 0, 0
    devices = Device.objects.filter(owner_id=pack.owner_id).exclude(id=pack.leader_id)
    wanted = {device.id: device for device in devices if matches(pack, device)}
    followers = {m.device_id: m.device for m in pack.members.select_related("device")}
    taken = set(
        PackMember.objects.filter(device_id__in=wanted)
        .exclude(pack=pack)
        .values_list("device_id", flat=True)
    )
    left = 0
    with transaction.atomic():
        for device_id, device in followers.items():
            if device_id not in wanted:
                remove_follower(pack, device, by_rule=True)
                left += 1
        joined = sum(
            _join(pack, device)
            for device_id, device in sorted(wanted.items())
            if device_id not in followers and device_id not in taken
        )
    return joined, left


def device_changed(device_id: str) -> None:
    """A device's tags, facts or owner changed: let it leave the dynamic pack it no
    longer matches, and join the first (by nick) of its owner's dynamic packs that
    it matches, if it follows none."""
    device = Device.objects.filter(pk=device_id).first()
    if device is None:
        return
    with transaction.atomic():
        member = PackMember.objects.select_related("pack").filter(device=device).first()
        if member is not None and member.pack.is_dynamic and not matches(member.pack, device):
            remove_follower(member.pack, device, by_rule=True)
            member = None
        if member is not None or device.owner_id is None:
            return
        dynamic = Pack.objects.filter(owner_id=device.owner_id, rule__isnull=False)
        for pack in dynamic.order_by("nick", "id"):
            if matches(pack, device) and _join(pack, device):
                return
