"""Turns the lower apps' signals (sent after commit) into webhook deliveries.

Only the owner of the device or pack an event is about hears of it; of a merged
proposal, its proposer too.
"""

from __future__ import annotations

from django.dispatch import receiver

from community.models import Proposal
from community.signals import proposal_moved
from devices.models import Device
from devices.signals import devices_seen
from packs import rollout as ro
from packs.signals import rollout_moved
from revisions.signals import step_created, step_progressed
from webhooks import services, wire


def _step_event(step, previous: str | None) -> None:
    device = Device.objects.filter(pk=step.trail_id).only("owner_id", "nick").first()
    if device is None:
        return
    services.emit(
        device.owner_id,
        wire.REVISION_STATUS,
        {
            "device": device.pk,
            "nick": device.nick,
            "rev": step.rev,
            "status": step.status,
            "previous": previous,
            "status-msg": step.status_msg,
            "progress": step.progress,
        },
    )


@receiver(step_created, dispatch_uid="webhooks.step_created")
def _step_created(sender, step, **kwargs) -> None:
    _step_event(step, None)


@receiver(step_progressed, dispatch_uid="webhooks.step_progressed")
def _step_progressed(sender, step, previous=None, **kwargs) -> None:
    _step_event(step, previous)


@receiver(devices_seen, dispatch_uid="webhooks.devices_seen")
def _devices_seen(sender, devices, came_online=(), **kwargs) -> None:
    if came_online:
        arrived = set(came_online)
        services.devices_online([device for device in devices if device.pk in arrived])


@receiver(rollout_moved, dispatch_uid="webhooks.rollout_moved")
def _rollout_moved(sender, rollout, status, previous, **kwargs) -> None:
    if status == ro.PAUSED:
        event = wire.ROLLOUT_PAUSED
    elif status not in ro.ACTIVE and previous in ro.ACTIVE:
        event = wire.ROLLOUT_FINISHED
    else:
        return
    pack = rollout.pack
    services.emit(
        pack.owner_id,
        event,
        {
            "pack": pack.pk,
            "nick": pack.nick,
            "rollout": rollout.pk,
            "status": status,
            "previous": previous,
            "status-msg": rollout.status_msg,
            "leader-rev": rollout.leader_step.rev,
        },
    )


@receiver(proposal_moved, dispatch_uid="webhooks.proposal_moved")
def _proposal_moved(sender, proposal: Proposal, status, previous, **kwargs) -> None:
    if previous is None:
        event = wire.PROPOSAL_OPENED
    elif status == Proposal.Status.MERGED:
        event = wire.PROPOSAL_MERGED
    else:
        return
    target = Device.objects.filter(pk=proposal.target_id).only("owner_id", "nick").first()
    if target is None:
        return
    data = {
        "device": target.pk,
        "nick": target.nick,
        "number": proposal.number,
        "title": proposal.title,
        "status": status,
        "proposer": proposal.proposer.username,
        "source": proposal.source_device_id,
        "source-rev": proposal.source_rev,
        "merged-rev": proposal.merged_rev,
    }
    services.emit(target.owner_id, event, data)
    if event == wire.PROPOSAL_MERGED and proposal.proposer_id != target.owner_id:
        services.emit(proposal.proposer_id, event, data)
