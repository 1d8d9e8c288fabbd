"""Lists of devices: explore, a user's profile, the home page and the dashboard."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from community.querysets import DEFAULT_SORT, SORTS, search, sort, with_listing
from devices.models import Device

PAGE_SIZE = 24
MAX_QUERY = 100


def public_listing(user):
    """Public, claimed devices with their card annotations."""
    return with_listing(Device.objects.public().filter(owner__isnull=False), user)


def explore(request):
    q = request.GET.get("q", "")[:MAX_QUERY].strip()
    key = request.GET.get("sort", DEFAULT_SORT)
    if key not in SORTS:
        key = DEFAULT_SORT
    devices = sort(search(public_listing(request.user), q), key)
    page = Paginator(devices, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "community/explore.html",
        {"page": page, "q": q, "sort": key, "sorts": list(SORTS)},
    )


def profile(request, nick: str):
    person = get_object_or_404(get_user_model(), username=nick, is_active=True)
    devices = with_listing(
        Device.objects.visible_to(request.user).filter(owner=person), request.user
    )
    page = Paginator(sort(devices, "recent"), PAGE_SIZE).get_page(request.GET.get("page"))
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
    devices = public_listing(user)
    return {
        "popular": sort(devices, "stars")[:6],
        "recent": sort(devices, "recent")[:6],
    }


def dashboard_context(request) -> dict:
    devices = with_listing(Device.objects.owned_by(request.user), request.user)
    page = Paginator(devices.order_by("nick", "id"), 50).get_page(request.GET.get("page"))
    starred = with_listing(
        Device.objects.visible_to(request.user).filter(stars__user=request.user), request.user
    ).order_by("-stars__time_created")[:12]
    return {"page": page, "starred": starred, "online_window": settings.DEVICE_ONLINE_WINDOW}
