"""Dashboard pages for packs: the list (with a create form) and a pack's page.

Actions post to small views that call the same services as the API and come
back to the pack's page with a message: the rules live in one place.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from devices.models import Device
from packs import services
from packs.forms import FollowerForm, PackForm
from packs.models import Pack
from portal.errors import APIError

ACTIONS = {"resume": services.resume, "abort": services.abort, "revert": services.revert}
DONE = {
    "resume": "Rollout resumed: the next wave is on its way.",
    "abort": "Rollout aborted: nothing more is posted.",
    "revert": "Wave reverted: its devices get their previous revision back.",
}


def _error(request, exc: APIError) -> None:
    messages.error(request, str(exc.detail))


def _settings_of(form: PackForm) -> dict:
    return {name: form.cleaned_data[name] for name in services.ROLLOUT_SETTINGS}


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
        except APIError as exc:
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
    context = {
        "pack": pack,
        "follower_form": FollowerForm(pack=pack),
        "settings_form": PackForm(instance=pack, owner=request.user),
        "online_window": settings.DEVICE_ONLINE_WINDOW,
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
    except APIError as exc:
        _error(request, exc)
    else:
        messages.success(request, "Pack settings saved.")
    return redirect("packs:detail", pack.id)


@login_required
@require_POST
def pack_delete(request, pack_id: str):
    pack = services.get_pack(request.user, pack_id)
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
    except APIError as exc:
        _error(request, exc)
    else:
        messages.success(request, f"{device.nick} follows {pack.nick} now.")
    return redirect("packs:detail", pack.id)


@login_required
@require_POST
def follower_remove(request, pack_id: str, device_id: str):
    pack = services.get_pack(request.user, pack_id)
    device = Device.objects.owned_by(request.user).filter(id=device_id).first()
    if device is None:
        raise Http404("no such device")
    services.remove_follower(pack, device)
    messages.success(request, f"{device.nick} no longer follows {pack.nick}.")
    return redirect("packs:detail", pack.id)


@login_required
@require_POST
def rollout_action(request, pack_id: str, rollout_id: str, action: str):
    """Resume, abort or revert (one wave, from the form) a rollout."""
    pack = services.get_pack(request.user, pack_id)
    rollout = services.get_rollout(pack, rollout_id)
    if action not in ACTIONS:
        raise Http404(f"no such action: {action}")
    args = []
    if action == "revert" and request.POST.get("wave", "").isdigit():
        args.append(int(request.POST["wave"]))
    try:
        ACTIONS[action](rollout, *args)
    except APIError as exc:
        _error(request, exc)
    else:
        messages.success(request, DONE[action])
    return redirect("packs:detail", pack.id)
