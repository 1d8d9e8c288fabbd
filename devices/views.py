"""Dashboard pages for devices: the claim form and factory tokens."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from devices import services
from devices.forms import AutoTokenForm, ClaimForm
from devices.models import AutoToken


@login_required
def claim(request):
    """Claim a device with its id and challenge; both may come prefilled in the query string."""
    if request.method == "POST":
        form = ClaimForm(request.POST)
        if form.is_valid() and (device := form.claim(request.user)):
            messages.success(request, f"{device.nick} is yours now.")
            return redirect("dashboard")
    else:
        initial = {
            "device_id": request.GET.get("id", ""),
            "challenge": request.GET.get("challenge", ""),
        }
        form = ClaimForm(initial=initial)
    return render(request, "devices/claim.html", {"form": form})


@login_required
def tokens(request):
    """List, create and disable factory auto-assign tokens; a new token is shown once, here.

    The new token is rendered in the POST's own answer rather than after a
    redirect, so that it is never stored anywhere (not even in the session).
    """
    form = AutoTokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        token, raw = form.create(request.user)
        new_token = {"token": token, "raw": raw}
        form = AutoTokenForm()
    tokens = list(AutoToken.objects.filter(owner=request.user))
    for token in tokens:
        token.meta_json = json.dumps(token.default_user_meta) if token.default_user_meta else ""
    context = {"form": form, "new_token": new_token, "tokens": tokens}
    response = render(request, "devices/tokens.html", context)
    if new_token:
        # The page holds a secret: keep it out of caches and the back-button history.
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def disable_token(request, token_id: str):
    token = get_object_or_404(AutoToken, id=token_id, owner=request.user)
    services.disable_auto_token(token)
    messages.success(request, f"Token {token.prefix}… is disabled.")
    return redirect("devices:tokens")
