"""Dashboard pages for packs: the list (with a create form) and a pack's page.

Actions post to small views that call the same services as the API and come
back to the pack's page with a message: the rules live in one place.
"""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from devices.models import Device
from packs import services
from packs.forms import FollowerForm, PackForm
from packs.models import Pack
from portal.errors import DomainError

ACTIONS = {"resume": services.resume, "abort": services.abort, "revert": services.revert}
#: The actions that cannot be undone, which a confirmation page asks about first.
CONFIRMED = frozenset({"abort", "revert"})
DONE = {
    "resume": "Rollout resumed: the next wave is on its way.",
    "abort": "Rollout aborted: nothing more is posted.",
    "revert": "Wave reverted: its devices get their previous revision back.",
}


def _error(request, exc: DomainError) -> None:
    messages.error(request, exc.message)


def _settings_of(form: PackForm) -> dict:
    names = (*services.PACK_SETTINGS, *services.SCHEDULE)
    return {name: form.cleaned_data[name] for name in names}


def _next_wave(pack: Pack) -> str | None:
    """When the pack's next wave may go, as its page says it: "now", a time in the pack's
    zone, or None for a pack that waits for no start time nor window."""
    if not pack.is_scheduled:
        return None
    now = timezone.now()
    at = pack.next_wave_at(now)
    if at is None:
        return "never: no window opens"
    if at == now:
        return "now"
    return f"at {at.astimezone(ZoneInfo(pack.time_zone)):%a %Y-%m-%d %H:%M} ({pack.time_zone})"


@login_required
def pack_list(request):
    """The user's packs, and a form to create one."""
    form = PackForm(request.POST or None, owner=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            pack = services.create_pack(
                request.user,
                nick=form.cleaned_data["nick"],
                leader=form.cleaned_data["leader"],
                description=form.cleaned_data["description"],
                **_settings_of(form),
            )
        except DomainError as exc:
            _error(request, exc)
        else:
            messages.success(request, f"Pack {pack.nick} created. Add its followers.")
            return redirect("packs:detail", pack.id)
    packs = Pack.objects.filter(owner=request.user).with_summary()
    return render(request, "packs/list.html", {"packs": packs, "form": form})


@login_required
def pack_detail(request, pack_id: str):
    """Members with their live status, counts per status, the rollout in progress, past ones."""
    pack = services.detail(services.get_pack(request.user, pack_id))
    services.with_refusals([*filter(None, [pack.active_rollout]), *pack.past_rollouts])
    context = {
        "pack": pack,
        "follower_form": FollowerForm(pack=pack),
        "settings_form": PackForm(instance=pack, owner=request.user),
        "online_window": settings.DEVICE_ONLINE_WINDOW,
        "next_wave": _next_wave(pack),
        "rule": json.dumps(pack.rule) if pack.is_dynamic else "",
    }
    return render(request, "packs/detail.html", context)


@login_required
@require_POST
def pack_settings(request, pack_id: str):
    pack = services.get_pack(request.user, pack_id)
    form = PackForm(request.POST, instance=Pack.objects.get(pk=pack.pk), owner=request.user)
    if not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
        return redirect("packs:detail", pack.id)
    changes = {name: form.cleaned_data[name] for name in ("nick", "leader", "description")}
    try:
        services.update_pack(pack, **changes, **_settings_of(form))
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, "Pack settings saved.")
    return redirect("packs:detail", pack.id)


def _confirm(request, pack, title: str, what: list[str], button: str, **hidden):
    """The page a destructive action shows on GET: what will happen, and the POST that does it."""
    context = {
        "title": title,
        "what": what,
        "button": button,
        "cancel_url": reverse("packs:detail", args=[pack.id]),
        "hidden": hidden,
    }
    return render(request, "confirm.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def pack_delete(request, pack_id: str):
    pack = services.get_pack(request.user, pack_id)
    if request.method == "GET":
        return _confirm(
            request,
            pack,
            f"Delete pack {pack.nick}?",
            [
                f"Its followers stop following {pack.leader.nick}; every device keeps the"
                " revisions it has.",
                "The pack's rollouts and their history are deleted with it.",
            ],
            f"Delete pack {pack.nick}",
        )
    services.delete_pack(pack)
    messages.success(request, f"Pack {pack.nick} deleted; its devices keep their revisions.")
    return redirect("packs:list")


@login_required
@require_POST
def follower_add(request, pack_id: str):
    pack = services.get_pack(request.user, pack_id)
    form = FollowerForm(request.POST, pack=pack)
    if not form.is_valid():
        messages.error(request, "Choose one of your devices that follows no pack yet.")
        return redirect("packs:detail", pack.id)
    device = form.cleaned_data["device"]
    try:
        services.add_follower(pack, device)
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"{device.nick} follows {pack.nick} now.")
    return redirect("packs:detail", pack.id)


@login_required
@require_http_methods(["GET", "POST"])
def follower_remove(request, pack_id: str, device_id: str):
    pack = services.get_pack(request.user, pack_id)
    device = Device.objects.owned_by(request.user).filter(id=device_id).first()
    if device is None:
        raise Http404("no such device")
    if request.method == "GET":
        return _confirm(
            request,
            pack,
            f"Remove {device.nick} from {pack.nick}?",
            [
                f"{device.nick} gets nothing more from {pack.nick}; what it has stays.",
                "A revision of a rollout not yet posted to it is not posted.",
            ],
            f"Remove {device.nick}",
        )
    services.remove_follower(pack, device)
    messages.success(request, f"{device.nick} no longer follows {pack.nick}.")
    return redirect("packs:detail", pack.id)


def _confirm_rollout(request, pack, rollout, action: str, wave: str):
    leader = f"{pack.leader.nick} rev {rollout.leader_step.rev}"
    if action == "abort":
        return _confirm(
            request,
            pack,
            f"Abort the rollout of {leader}?",
            [
                "Nothing more is posted: waves that have not started never will.",
                "Devices that already got the revision keep it (revert a wave to undo that).",
            ],
            "Abort the rollout",
        )
    return _confirm(
        request,
        pack,
        f"Revert wave {wave or '(the newest started)'} of {leader}?",
        [
            "Each device of the wave that took the revision gets the revision it ran before,"
            " posted as a new revision; one that has not picked it up yet has it cancelled.",
            "The rollout stops for good (reverted).",
        ],
        f"Revert wave {wave}" if wave else "Revert the wave",
        wave=wave,
    )


@login_required
@require_http_methods(["GET", "POST"])
def rollout_action(request, pack_id: str, rollout_id: str, action: str):
    """Resume, abort or revert (one wave, from the form) a rollout.

    Abort and revert cannot be undone: on GET they show what will happen, and the
    page's POST does it. Resume is only ever a POST.
    """
    pack = services.get_pack(request.user, pack_id)
    rollout = services.get_rollout(pack, rollout_id)
    if action not in ACTIONS:
        raise Http404(f"no such action: {action}")
    data = request.POST if request.method == "POST" else request.GET
    wave = data.get("wave", "") if data.get("wave", "").isdigit() else ""
    if request.method == "GET":
        if action not in CONFIRMED:
            return HttpResponseNotAllowed(["POST"])
        return _confirm_rollout(request, pack, rollout, action, wave)
    args = [int(wave)] if action == "revert" and wave else []
    try:
        ACTIONS[action](rollout, *args)
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(request, DONE[action])
    return redirect("packs:detail", pack.id)
