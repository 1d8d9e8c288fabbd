"""Rolling back and forking (new revisions posted through the revisions service), stars,
and the dashboard's bulk actions (through the devices and packs services); merging
upstream revisions into forks is :mod:`community.services.upstream`.

Nothing here writes a step itself: ``revisions.services.steps.post_step``
allocates the number, checks (or, for forks, links) the objects and announces
the revision after commit. This module adds what the community owns: the
lineage row that fork counts and "forked from" read, and the upstream a fork
follows.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from community.models import Fork, Star, Upstream
from devices import services as device_services
from devices.models import Device
from packs import services as pack_services
from packs.models import Pack
from portal.errors import Conflict, DomainError, Forbidden
from portal.models import nick_validator
from revisions.models import Step, Trail
from revisions.services.steps import post_step
from trail.merge import Merge

#: The largest revision number a step can have (an integer column): past any real one.
MAX_REV = 2**31 - 1


def _trail_of(device: Device) -> Trail:
    # A device that never posted its factory state (a new template, or hardware
    # that has not booted yet) has no trail row; its first revision starts it.
    trail, _ = Trail.objects.get_or_create(device=device)
    return trail


def roll_back(user, device: Device, step: Step) -> Step:
    """Post revision ``step``'s state again as the device's newest revision.

    Only to a revision the device ran (:meth:`Step.reached`): posting a state
    that failed (ERROR, WONTGO), was cancelled or never got installed would
    not take the device back to anything that worked.
    """
    if not step.reached(device.has_hardware):
        raise Conflict(
            f"revision {step.rev} is {step.status}: only a revision the device ran"
            " (DONE or UPDATED) can be rolled back to",
            code="not-a-rollback-point",
        )
    return post_step(
        _trail_of(device),
        step.state,
        commit_msg=f"Roll back to revision {step.rev}",
        author=user,
    )


def star(user, device: Device) -> None:
    """``user`` stars ``device`` (one they can see); starring it again changes nothing."""
    Star.objects.get_or_create(user=user, device=device)


def unstar(user, device: Device) -> None:
    """``user`` takes their star off ``device``; without one, nothing changes."""
    Star.objects.filter(user=user, device=device).delete()


def label(device: Device) -> str:
    return f"{device.owner.username}/{device.nick}"


def merge_conflicts(message: str, merged: Merge) -> Conflict:
    """The refusal of a three-way merge that did not come out clean (upstream merges,
    proposals): a 409 ``conflicts`` with ``message`` and each place, ``{path, base, ours,
    theirs}`` (``trail.merge.Conflict.as_json``). Raise it: nothing was changed."""
    return Conflict(message, code="conflicts", conflicts=[c.as_json() for c in merged.conflicts])


def check_fork_nick(nick: str) -> None:
    """Refuse the nick of a device a fork would make: none, or not a nick (400)."""
    if not nick:
        raise DomainError("name the new device: give it a nick", code="nick-required")
    try:
        nick_validator(nick)
    except ValidationError as exc:
        raise DomainError(exc.messages[0], code="bad-nick") from None


def revision_to_fork(source: Device, rev: int | None = None) -> Step:
    """Revision ``rev`` of ``source`` (one the caller may see), or its newest when None.

    A number the device does not have is a 400 ``no-such-rev``; a device with no
    revision at all has nothing to fork (409 ``no-revisions``).
    """
    steps = Step.objects.filter(trail_id=source.id)
    if rev is None:
        step = steps.order_by("-rev").first()
    else:  # a number past any revision is not one the database can compare
        step = steps.filter(rev=rev).first() if rev <= MAX_REV else None
    if step is not None:
        return step
    newest = steps.order_by("-rev").values_list("rev", flat=True).first()
    if newest is None:
        raise Conflict(
            f"{label(source)} has no revision yet: there is nothing to fork", "no-revisions"
        )
    raise DomainError(
        f"{label(source)} has no revision {rev}; its newest is {newest}", code="no-such-rev"
    )


def fork(
    user,
    source: Device,
    step: Step,
    *,
    into: Device | None = None,
    nick: str = "",
    description: str = "",
) -> Step:
    """Fork revision ``step`` of ``source`` into ``into`` (one of ``user``'s devices), or into
    a new device called ``nick`` that has no hardware yet. Returns the new revision.

    The web page and ``POST /devices/<id>/fork`` both come here, having found
    ``source`` through ``Device.objects.visible_to(user)``. The objects are
    linked from the public revision, never copied; a refusal (a bad or taken
    nick, a device that is not ``user``'s, an object that cannot be linked)
    leaves nothing behind.
    """
    if step.trail_id != source.id:
        raise ValueError(f"revision {step.rev} is not one of {label(source)}'s")
    if into is None:
        check_fork_nick(nick)
    elif not into.is_owned_by(user):
        raise Forbidden("you may fork only into a device of yours", "owner-only")
    elif into.id == source.id:
        raise DomainError(
            "a device cannot be forked into itself; to post an old revision again, roll back",
            code="fork-into-itself",
        )
    with transaction.atomic():
        created = into is None
        if into is None:
            # A fork makes a template: no hardware runs it until one is pointed at it.
            into = device_services.register_device(
                owner=user, nick=nick, description=description, has_hardware=False
            )
        new_step = post_step(
            _trail_of(into),
            step.state,
            commit_msg=f"Fork of {label(source)} at revision {step.rev}",
            author=user,
            forked_from=step,
            link_public=True,
        )
        Fork.objects.create(
            device=into,
            rev=new_step.rev,
            created_device=created,
            source_device=source,
            source_rev=step.rev,
            source_label=label(source),
            user=user,
        )
        Upstream.took_in(into, source, step.rev)
    return new_step


# --- Bulk actions on the dashboard ------------------------------------------------------


def _check_owned(user, devices: list[Device]) -> None:
    """Refuse the whole action, before anything changes, when a device is not ``user``'s."""
    theirs = [device.nick for device in devices if not device.is_owned_by(user)]
    if theirs:
        raise Forbidden(
            f"not your device: {', '.join(theirs)}; you can only change your own devices",
            "not-your-device",
        )


def set_public(user, devices: list[Device], public: bool) -> list[Device]:
    """Make each of ``user``'s ``devices`` public (or private) through
    ``devices.services.update_device``, all of them or none; returns those that
    changed (one already so is left alone)."""
    _check_owned(user, devices)
    with transaction.atomic():
        return [
            device_services.update_device(device, public=public)
            for device in devices
            if device.public != public
        ]


def add_followers(
    user, pack: Pack, devices: list[Device]
) -> tuple[list[Device], list[tuple[Device, DomainError]]]:
    """Make each of ``user``'s ``devices`` follow ``pack`` through
    ``packs.services.add_follower`` (its rules: one pack per device, not its own
    leader, no loop; a new follower catches up to the leader's revision).

    Returns the devices added and those the service refused, each with its
    refusal; a refusal leaves the others to go on. One already following the
    pack is neither.
    """
    if not pack.is_owned_by(user):
        raise Forbidden(f"pack {pack.nick} is not yours", "not-your-pack")
    _check_owned(user, devices)
    added: list[Device] = []
    refused: list[tuple[Device, DomainError]] = []
    for device in devices:
        try:
            _, created = pack_services.add_follower(pack, device)
        except DomainError as exc:
            refused.append((device, exc))
        else:
            if created:
                added.append(device)
    return added, refused
