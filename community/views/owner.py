"""Pages and actions on a device: stars for anyone who can see it; the rest for its owner."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from community import services
from community.forms import DeleteDeviceForm, DeviceSettingsForm, UserMetaForm
from community.views.lookups import device_for, page_context
from devices.models import Device, DeviceLog
from devices.services import delete_device

LOG_TAIL = 200


def _device_url(device: Device, name: str = "community:device") -> str:
    return reverse(name, args=[device.owner.username, device.nick])


@login_required
@require_POST
def star(request, nick: str, device: str):
    """Star (``action=star``) or unstar (``action=unstar``) a device the user can see."""
    found = get_object_or_404(
        Device.objects.visible_to(request.user).select_related("owner"),
        owner__username=nick,
        nick=device,
    )
    if request.POST.get("action") == "unstar":
        services.unstar(request.user, found)
    else:
        services.star(request.user, found)
    return redirect(_device_url(found))


@login_required
def settings_page(request, nick: str, device: str):
    device = device_for(request, nick, device, owner_only=True)
    form = DeviceSettingsForm(request.POST or None, device=device)
    if request.method == "POST" and form.is_valid() and form.save():
        messages.success(request, "Settings saved.")
        return redirect(_device_url(device, "community:settings"))
    context = {
        **page_context(device, "settings"),
        "form": form,
        "delete_form": DeleteDeviceForm(device=device),
    }
    return render(request, "community/device/settings.html", context)


@login_required
@require_POST
def delete(request, nick: str, device: str):
    device = device_for(request, nick, device, owner_only=True)
    form = DeleteDeviceForm(request.POST, device=device)
    if not form.is_valid():
        context = {
            **page_context(device, "settings"),
            "form": DeviceSettingsForm(device=device),
            "delete_form": form,
        }
        return render(request, "community/device/settings.html", context, status=400)
    name = device.nick
    delete_device(device)
    messages.success(request, f"{name} is deleted, with its revisions.")
    return redirect("dashboard")


@login_required
def meta(request, nick: str, device: str):
    """User-meta (the owner writes it, the device reads it) and device-meta (the device's)."""
    device = device_for(request, nick, device, owner_only=True)
    form = UserMetaForm(request.POST or None, device=device)
    if request.method == "POST" and form.is_valid() and form.save() is not None:
        messages.success(request, "User-meta saved.")
        return redirect(_device_url(device, "community:meta"))
    context = {
        **page_context(device, "meta"),
        "form": form,
        "device_meta": json.dumps(device.device_meta, indent=2, ensure_ascii=False),
    }
    return render(request, "community/device/meta.html", context)


@login_required
def logs(request, nick: str, device: str):
    """The newest log lines; the page then follows new ones over the device's WebSocket."""
    device = device_for(request, nick, device, owner_only=True)
    lines = list(
        DeviceLog.objects.visible_to(request.user).filter(device=device).order_by("-id")[:LOG_TAIL]
    )
    lines.reverse()
    context = {**page_context(device, "logs"), "lines": lines, "tail": LOG_TAIL}
    return render(request, "community/device/logs.html", context)
