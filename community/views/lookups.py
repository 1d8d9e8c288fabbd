"""Finding the device a page is about, through the one visibility rule."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404

from community.querysets import with_lineage, with_listing
from community.services import MAX_REV
from devices.models import Device
from revisions.models import Step


def device_for(request, nick: str, device: str, *, owner_only: bool = False) -> Device:
    """The device ``<nick>/<device>`` as the page header shows it, or 404.

    With ``owner_only`` anyone but the owner gets a 404, public device or not:
    the settings of someone else's device do not exist for you.
    """
    if owner_only:
        devices = Device.objects.owned_by(request.user)
    else:
        devices = Device.objects.visible_to(request.user)
    devices = with_lineage(with_listing(devices, request.user), request.user)
    found = get_object_or_404(devices, owner__username=nick, nick=device)
    found.is_owner = found.is_owned_by(request.user)
    return found


def page_context(device: Device, tab: str) -> dict:
    """What every device page's header needs."""
    return {"device": device, "tab": tab, "online_window": settings.DEVICE_ONLINE_WINDOW}


def step_for(device: Device, rev: int) -> Step:
    """Revision ``rev`` of a device the caller may already see, or 404."""
    if rev > MAX_REV:  # past any real revision, and past what the database can compare
        raise Http404(f"no revision {rev}")
    step = (
        Step.objects.select_related("author", "trail__device__owner")
        .filter(trail_id=device.id, rev=rev)
        .first()
    )
    if step is None:
        raise Http404(f"no revision {rev}")
    return step
