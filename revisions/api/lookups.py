"""Finding trails and steps for a request: visibility first, then the right to act."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from rest_framework import exceptions

from devices.models import Device
from devices.services import get_visible_device
from portal.errors import Forbidden
from revisions.models import Step, Trail


def get_trail(user, ref: str) -> Trail:
    """The trail of the device ``ref`` names (id, prn or nick), if ``user`` may see it."""
    device = get_visible_device(user, ref, Device.objects.select_related("owner", "trail"))
    try:
        trail = device.trail
    except ObjectDoesNotExist:
        raise Http404(
            "this device has no trail yet: the device posts its factory state first (POST /trails/)"
        ) from None
    trail.device = device
    return trail


def parse_rev(rev: str) -> int:
    try:
        return int(rev)
    except ValueError:
        raise Http404(f"no such revision: {rev}") from None


def get_step(user, ref: str, rev: str, trail: Trail | None = None) -> Step:
    """Revision ``rev`` of the trail ``ref`` names, if ``user`` may see it."""
    trail = trail or get_trail(user, ref)
    step = trail.steps.select_related("author").filter(rev=parse_rev(rev)).first()
    if step is None:
        raise Http404(f"no revision {rev} on this trail")
    step.trail = trail
    return step


def require_owner(user, trail: Trail) -> None:
    """403 unless ``user`` is the person who owns the trail's device (401 when anonymous)."""
    device = trail.device
    if device.is_owned_by(user):
        return
    if not user.is_authenticated:
        raise exceptions.NotAuthenticated("log in as the device's owner")
    if device.is_itself(user):
        raise Forbidden("a device cannot do this to its own trail; its owner can", "owner-only")
    raise Forbidden("only the device's owner may do this", "owner-only")


def require_poster(user, trail: Trail) -> None:
    """403 unless ``user`` may post revisions to the trail (401 when anonymous): its
    owner, or the device itself (pvr on the device, auto-follow scripts)."""
    device = trail.device
    if device.is_owned_by(user) or device.is_itself(user):
        return
    if not user.is_authenticated:
        raise exceptions.NotAuthenticated("log in as the device's owner or as the device")
    raise Forbidden(
        "only the device's owner or the device itself may post revisions", "owner-or-itself"
    )


def require_itself(user, trail: Trail) -> None:
    """403 unless ``user`` is the trail's device (401 when anonymous)."""
    if not user.is_authenticated:
        raise exceptions.NotAuthenticated("log in as the device")
    if not trail.device.is_itself(user):
        raise Forbidden(
            "only the device itself reports progress; its owner may /cancel or /wontgo",
            "device-only",
        )
