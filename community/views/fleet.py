"""The dashboard's fleet: what the dashboard shows of a person's devices (the project's
dashboard view renders :func:`fleet_context`), and the bulk actions on those ticked there.

A bulk action that would change more than one device asks first, on the
confirmation page the other destructive actions use (``templates/confirm.html``);
its button posts the same selection again, confirmed. An action on a device
that is not the person's, or into a pack that is not theirs, changes nothing:
a 400 page that says so.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from community import fleet, services
from community.forms import FleetActionForm, FleetFilterForm
from portal.errors import DomainError

#: The dashboard's query string parameters: its filters and its page.
QUERY_KEYS = ("q", "status", "presence", "pack", "visibility", "sort", "page")
#: How many nicks a message or a confirmation names before "and N more".
NAMED = 10


def dashboard_query(params: QueryDict) -> str:
    """The dashboard's own parameters of ``params`` (filters and page), encoded."""
    kept = QueryDict(mutable=True)
    for key in params:  # in their order: the same page is the same address
        value = params.get(key, "")
        if key in QUERY_KEYS and value:
            kept[key] = value[:200]
    return kept.urlencode()


def dashboard_url(query: str = "") -> str:
    """The dashboard with the filters and page of ``query`` (another's parameters dropped)."""
    kept = dashboard_query(QueryDict(query))
    return reverse("dashboard") + (f"?{kept}" if kept else "")


def fleet_context(request) -> dict:
    """The dashboard's list: the filter form, the counts by status, a page of rows, and the
    bulk action form; a fixed number of queries (``community.fleet``)."""
    user = request.user
    packs = fleet.owned_packs(user)
    form = FleetFilterForm(request.GET, packs=packs)
    filters = form.filters()
    devices = fleet.filtered(user, filters, packs)
    counts = fleet.status_counts(devices)
    page = fleet.page(devices, counts, filters, request.GET.get("page"), user, packs)
    action_form = FleetActionForm(
        user=user, packs=packs, initial={"back": dashboard_query(request.GET)}, auto_id="bulk_%s"
    )
    return {
        "page": page,
        "filter_form": form,
        "filtering": any(key != "sort" for key in filters),
        "status_filter": filters.get("status", ""),
        "counts": fleet.count_list(counts),
        "total": sum(counts.values()),
        "packs": packs,
        "action_form": action_form,
    }


def _named(devices) -> str:
    nicks = [device.nick for device in devices]
    more = len(nicks) - NAMED
    return ", ".join(nicks[:NAMED]) + (f" and {more} more" if more > 0 else "")


def _devices(count: int) -> str:
    return "1 device" if count == 1 else f"{count} devices"


def _already(action: str, pack) -> str:
    return f"already in {pack.nick}" if action == "pack" else f"already {action}"


def _affected(action: str, devices, pack) -> list:
    """The selected devices the action would change."""
    if action == "pack":
        return [device for device in devices if device.follows_pack_id != pack.id]
    public = action == "public"
    return [device for device in devices if device.public != public]


def _confirmation(request, form: FleetActionForm, affected, back: str):
    data = form.cleaned_data
    action, pack, count = data["action"], data["pack"], len(affected)
    if action == "pack":
        title = f"Add {_devices(count)} to pack {pack.nick}?"
        what = [
            f"{_named(affected)} will follow {pack.leader.nick}, the leader of {pack.nick}.",
            f"Each catches up to the revision {pack.leader.nick} has reached: its state is"
            " posted to each device as a new revision, and each later rollout of the pack"
            " reaches them too.",
            "A device that follows another pack, or leads this one, is not added.",
        ]
        button = f"Add {_devices(count)} to {pack.nick}"
    elif action == "public":
        title = f"Make {_devices(count)} public?"
        what = [
            f"{_named(affected)}.",
            "Anyone can then see their pages, revisions and objects, and fork them.",
        ]
        button = f"Make {_devices(count)} public"
    else:
        title = f"Make {_devices(count)} private?"
        what = [
            f"{_named(affected)}.",
            "Only you (and each device itself) can then see them and their revisions.",
        ]
        button = f"Make {_devices(count)} private"
    unchanged = [device for device in data["device"] if device not in affected]
    if unchanged:
        what.append(
            f"{_already(action, pack).capitalize()}, left as they are: {_named(unchanged)}."
        )
    return render(
        request,
        "confirm.html",
        {
            "title": title,
            "what": what,
            "button": button,
            "cancel_url": back,
            "hidden": {
                "action": action,
                "pack": pack.id if pack else "",
                "back": data["back"],
                "confirmed": "on",
            },
            "hidden_lists": {"device": [device.id for device in data["device"]]},
        },
    )


@login_required
@require_POST
def bulk(request):
    """Apply an action to the devices ticked on the dashboard, after asking when it would
    change more than one; then back to the dashboard, its filters and page kept."""
    form = FleetActionForm(request.POST, user=request.user, packs=fleet.owned_packs(request.user))
    back = dashboard_url(request.POST.get("back", ""))
    if not form.is_valid():
        return render(
            request, "community/fleet_refused.html", {"form": form, "back": back}, status=400
        )
    action, pack, devices = (form.cleaned_data[key] for key in ("action", "pack", "device"))
    affected = _affected(action, devices, pack)
    if not affected:
        messages.info(request, f"Nothing to change: {_already(action, pack)}.")
        return redirect(back)
    if len(affected) > 1 and not form.cleaned_data["confirmed"]:
        return _confirmation(request, form, affected, back)
    try:
        _apply(request, action, pack, affected)
    except DomainError as exc:  # the services' own check of the owner, after the form's
        form.add_error(None, exc.message)
        context = {"form": form, "back": back}
        return render(request, "community/fleet_refused.html", context, status=exc.status_code)
    return redirect(back)


def _apply(request, action: str, pack, affected) -> None:
    """Do it, through the services, and say what was done."""
    if action == "pack":
        added, refused = services.add_followers(request.user, pack, affected)
        if added:
            messages.success(
                request,
                f"{_named(added)} now follow{'s' if len(added) == 1 else ''} {pack.nick}.",
            )
        if refused:
            reasons = "; ".join(exc.message for _, exc in refused)
            messages.error(request, f"Not added to {pack.nick}: {reasons}.")
    else:
        changed = services.set_public(request.user, affected, action == "public")
        state = "public" if action == "public" else "private"
        verb = "is" if len(changed) == 1 else "are"
        messages.success(request, f"{_named(changed)} {verb} {state} now.")
