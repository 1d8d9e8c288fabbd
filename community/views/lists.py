"""Lists of devices: explore, a user's profile, the home page and the dashboard."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render

from community.querysets import (
    DEFAULT_SORT,
    MAX_QUERY,
    SORTS,
    devices_of,
    page_of,
    person_named,
    public_devices,
    search,
    signed_only,
    sort,
    top,
    with_listing,
)
from community.services.proposals import proposals_by
from community.views.fleet import fleet_context
from devices.models import Device

PAGE_SIZE = 24
#: The proposer's newest proposals the dashboard lists.
DASHBOARD_PROPOSALS = 10


def explore(request):
    q = request.GET.get("q", "")[:MAX_QUERY].strip()
    key = request.GET.get("sort", DEFAULT_SORT)
    if key not in SORTS:
        key = DEFAULT_SORT
    signed = request.GET.get("signed") == "1"
    devices = search(public_devices(), q)
    if signed:
        devices = signed_only(devices)
    page = page_of(
        sort(devices, key), request.GET.get("page"), PAGE_SIZE, request.user, contents=True
    )
    return render(
        request,
        "community/explore.html",
        {"page": page, "q": q, "sort": key, "sorts": list(SORTS), "signed": signed},
    )


def profile(request, nick: str):
    person = person_named(nick)
    page = page_of(
        devices_of(person, request.user),
        request.GET.get("page"),
        PAGE_SIZE,
        request.user,
        contents=True,
    )
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
        "popular": top(sort(public_devices(), "stars"), 6, user, contents=True),
        "recent": top(sort(public_devices(), "recent"), 6, user, contents=True),
    }


def dashboard_context(request) -> dict:
    """The dashboard: the person's fleet (community/views/fleet.py), what they starred, and
    the revisions they proposed to others' devices, with their status."""
    starred = with_listing(
        Device.objects.visible_to(request.user).filter(stars__user=request.user), request.user
    ).order_by("-stars__time_created")[:12]
    return {
        **fleet_context(request),
        "starred": starred,
        "my_proposals": list(proposals_by(request.user)[:DASHBOARD_PROPOSALS]),
        "online_window": settings.DEVICE_ONLINE_WINDOW,
    }
