"""Lists of devices: explore, a user's profile, the home page and the dashboard."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404, render

from community.querysets import DEFAULT_SORT, SORTS, page_of, search, sort, top, with_listing
from devices.models import Device

PAGE_SIZE = 24
MAX_QUERY = 100


def public_devices():
    """Public, claimed devices."""
    return Device.objects.public().filter(owner__isnull=False)


def explore(request):
    q = request.GET.get("q", "")[:MAX_QUERY].strip()
    key = request.GET.get("sort", DEFAULT_SORT)
    if key not in SORTS:
        key = DEFAULT_SORT
    devices = sort(search(public_devices(), q), key)
    page = page_of(devices, request.GET.get("page"), PAGE_SIZE, request.user)
    return render(
        request,
        "community/explore.html",
        {"page": page, "q": q, "sort": key, "sorts": list(SORTS)},
    )


def profile(request, nick: str):
    person = get_object_or_404(get_user_model(), username=nick, is_active=True)
    devices = sort(Device.objects.visible_to(request.user).filter(owner=person), "recent")
    page = page_of(devices, request.GET.get("page"), PAGE_SIZE, request.user)
    starred = with_listing(
        Device.objects.visible_to(request.user).filter(stars__user=person), request.user
    ).order_by("-stars__time_created")[:12]
    return render(
        request,
        "community/profile.html",
        {"person": person, "page": page, "starred": starred},
    )


def home_context(user) -> dict:
    """The home page's two shelves: most starred, and most recently active."""
    return {
        "popular": top(sort(public_devices(), "stars"), 6, user),
        "recent": top(sort(public_devices(), "recent"), 6, user),
    }


def dashboard_context(request) -> dict:
    devices = Device.objects.owned_by(request.user).order_by("nick", "id")
    page = page_of(devices, request.GET.get("page"), 50, request.user)
    starred = with_listing(
        Device.objects.visible_to(request.user).filter(stars__user=request.user), request.user
    ).order_by("-stars__time_created")[:12]
    return {"page": page, "starred": starred, "online_window": settings.DEVICE_ONLINE_WINDOW}
