"""The dashboard's Webhooks page: a person's webhooks, their recent deliveries, redelivery."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from webhooks import services

#: Deliveries shown under each webhook.
RECENT = 10


@login_required
def webhooks(request):
    hooks = list(services.webhooks_of(request.user))  # at most services.MOST_WEBHOOKS
    for hook in hooks:
        hook.recent = list(hook.deliveries.prefetch_related("attempt_set")[:RECENT])
    return render(request, "webhooks/webhooks.html", {"webhooks": hooks})


@login_required
@require_POST
def redeliver(request, webhook_id: str, number: str):
    delivery = services.redeliver(request.user, webhook_id, number)
    messages.success(request, f"Sending delivery {number} again, as delivery {delivery.number}.")
    return redirect("webhooks")
