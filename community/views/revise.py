"""Actions that post revisions: roll back (the owner), fork (anyone logged in), merge
upstream and follow it (the owner of a fork)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from community import services
from community.forms import ForkForm
from community.services import upstream
from community.views.lookups import device_for, page_context, step_for
from portal.errors import DomainError, add_to_form


def _revision_url(device, rev: int) -> str:
    return reverse("community:revision", args=[device.owner.username, device.nick, rev])


@login_required
@require_http_methods(["GET", "POST"])
def rollback(request, nick: str, device: str, rev: int):
    """GET: what rolling back will do, to confirm; POST: do it."""
    device = device_for(request, nick, device, owner_only=True)
    step = step_for(device, rev)
    if request.method == "GET":
        if not step.reached(device.has_hardware):
            messages.error(
                request, f"Revision {rev} is {step.status}: it is not a revision to roll back to."
            )
            return redirect(_revision_url(device, rev))
        what = [
            f"{device.nick} gets the state of revision {rev} again, posted as a new revision"
            f" (rev {device.head_rev + 1}).",
            "The device installs it like any new revision; nothing is deleted.",
        ]
        if step.commit_msg:
            what.insert(1, f"Revision {rev}: “{step.commit_msg[:140]}”")
        return render(
            request,
            "confirm.html",
            {
                "title": f"Roll {device.nick} back to revision {rev}?",
                "what": what,
                "button": f"Roll back to revision {rev}",
                "cancel_url": _revision_url(device, rev),
            },
        )
    try:
        new = services.roll_back(request.user, device, step)
    except DomainError as exc:
        messages.error(request, f"Could not roll back: {exc.message}")
        return redirect(_revision_url(device, rev))
    messages.success(request, f"Posted revision {new.rev} with the state of revision {rev}.")
    return redirect(_revision_url(device, new.rev))


@login_required
def fork(request, nick: str, device: str, rev: int):
    source = device_for(request, nick, device)
    step = step_for(source, rev)
    form = ForkForm(request.POST or None, user=request.user, source=source)
    if request.method == "POST" and form.is_valid():
        try:
            new = services.fork(
                request.user, source, step, into=form.into, nick=form.cleaned_data["nick"]
            )
        except DomainError as exc:
            add_to_form(form, exc)
        else:
            target = new.trail.device
            messages.success(
                request, f"Forked {services.label(source)} at revision {rev} into {target.nick}."
            )
            return redirect(_revision_url(target, new.rev))
    context = {**page_context(source, "revisions"), "step": step, "form": form}
    return render(
        request, "community/device/fork.html", context, status=400 if form.errors else 200
    )


def _device_url(device) -> str:
    return reverse("community:device", args=[device.owner.username, device.nick])


@login_required
@require_POST
def merge_upstream(request, nick: str, device: str):
    """Merge the upstream's newest revision (the overview's button)."""
    device = device_for(request, nick, device, owner_only=True)
    try:
        new = upstream.merge_upstream(request.user, device)
    except DomainError as exc:
        messages.error(request, f"Could not merge: {exc.message}")
        return redirect(_device_url(device))
    if new is None:
        messages.success(request, "Up to date with upstream: the merge changed nothing here.")
        return redirect(_device_url(device))
    messages.success(request, f"Posted revision {new.rev}: {new.commit_msg}.")
    return redirect(_revision_url(device, new.rev))


@login_required
@require_POST
def follow_upstream(request, nick: str, device: str):
    """Start (``follow=on``) or stop following the upstream."""
    device = device_for(request, nick, device, owner_only=True)
    follow = request.POST.get("follow") == "on"
    try:
        upstream.set_follow(request.user, device, follow)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            "Following upstream: each new upstream revision is merged here."
            if follow
            else "Stopped following upstream.",
        )
    return redirect(_device_url(device))
