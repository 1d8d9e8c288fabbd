"""Registering webhooks, turning events into deliveries, and making each attempt."""

from __future__ import annotations

import datetime as dt
import http.client
import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone

from devices.models import Device
from portal import audit, queue
from portal.errors import DomainError
from webhooks import targets, wire
from webhooks.models import Attempt, Delivery, Presence, Webhook

log = logging.getLogger(__name__)

#: Webhooks one person may have.
MOST_WEBHOOKS = 20
#: Attempts at a delivery, the first included, and the waits (seconds) before each retry;
#: the last wait repeats, so the waits are capped.
ATTEMPTS = 5
BACKOFF = (10, 60, 300, 1800)
#: A pending delivery this late for its next attempt lost its task message: the sweep
#: queues it again.
STALE = dt.timedelta(minutes=2)


# --- Webhooks ---------------------------------------------------------------------------


def webhooks_of(owner):
    return Webhook.objects.of(owner)


def webhook_of(owner, webhook_id: str) -> Webhook:
    """One of ``owner``'s webhooks; a 404 (on the API and the pages) for anyone else's."""
    hook = webhooks_of(owner).filter(pk=webhook_id).first()
    if hook is None:
        raise Http404("you have no webhook with that id")
    return hook


def _checked(url: str | None, events: list[str] | None) -> None:
    if url is not None:
        try:
            targets.check(url)
        except targets.Refused as exc:
            message = f"{exc}; the hub sends only to public addresses"
            raise DomainError(message, "bad-target") from None
    if events is not None:
        unknown = sorted(set(events) - set(wire.CHOICES))
        if not events or unknown:
            raise DomainError(
                f"events must be some of {', '.join(wire.CHOICES)}"
                + (f"; unknown: {', '.join(unknown)}" if unknown else ""),
                "bad-events",
            )


def register(owner, url: str, events: list[str], secret: str, active: bool = True) -> Webhook:
    """A new webhook of ``owner``'s; 400 for a target the hub may not send to."""
    _checked(url, events)
    if webhooks_of(owner).count() >= MOST_WEBHOOKS:
        raise DomainError(f"a person may have {MOST_WEBHOOKS} webhooks", "too-many-webhooks")
    with transaction.atomic():
        hook = Webhook.objects.create(
            owner=owner, url=url, events=sorted(set(events)), secret=secret, active=active
        )
        audit.record("webhook.create", owner=owner, target=hook, after=_shown(hook))
    return hook


def _shown(hook: Webhook) -> dict[str, Any]:
    """What the audit log keeps of a webhook: never its secret."""
    return {"url": hook.url[:300], "events": hook.events, "active": hook.active}


def change(owner, webhook_id: str, **fields: Any) -> Webhook:
    """Change some of a webhook's ``url``, ``events``, ``secret`` and ``active``."""
    hook = webhook_of(owner, webhook_id)
    _checked(fields.get("url"), fields.get("events"))
    if "events" in fields:
        fields["events"] = sorted(set(fields["events"]))
    before = _shown(hook)
    for name, value in fields.items():
        setattr(hook, name, value)
    with transaction.atomic():
        hook.save()
        before, after = audit.changed(before, _shown(hook))
        if "secret" in fields:
            after["secret-changed"] = True  # that it changed; never the secret
        audit.record("webhook.update", owner=owner, target=hook, before=before, after=after)
    return hook


def remove(owner, webhook_id: str) -> Webhook:
    hook = webhook_of(owner, webhook_id)
    with transaction.atomic():
        audit.record("webhook.delete", owner=owner, target=hook, before=_shown(hook))
        hook.delete()
    hook.pk = webhook_id  # delete() clears it; the answer names the webhook removed
    return hook


def delivery_of(owner, webhook_id: str, number: str) -> Delivery:
    """Delivery ``number`` (as the path spells it) of one of ``owner``'s webhooks, or 404."""
    hook = webhook_of(owner, webhook_id)
    valid = number.isascii() and number.isdigit() and len(number) <= 9
    delivery = hook.deliveries.filter(number=int(number)).first() if valid else None
    if delivery is None:
        raise Http404("this webhook made no delivery with that number")
    return delivery


# --- Deliveries -------------------------------------------------------------------------


def emit(owner_id: int | None, event: str, data: dict[str, Any]) -> list[Delivery]:
    """Tell ``owner_id``'s webhooks that asked for ``event``; each delivery is sent after
    the commit."""
    if owner_id is None:
        return []
    hooks = Webhook.objects.wanting(owner_id, event)
    if not hooks:
        return []
    body = wire.body(event, timezone.now(), data)
    return [_new_delivery(hook, event, body) for hook in hooks]


def redeliver(owner, webhook_id: str, number: str) -> Delivery:
    """Send a delivery's body again, as a new delivery (its own id and number)."""
    old = delivery_of(owner, webhook_id, number)
    with transaction.atomic():
        delivery = _new_delivery(old.webhook, old.event, old.body, redelivery_of=old)
        audit.record(
            "webhook.redeliver",
            owner=owner,
            target=old.webhook,
            after={"delivery": delivery.number, "of": old.number, "event": old.event},
        )
    return delivery


def _new_delivery(
    hook: Webhook, event: str, body: str, redelivery_of: Delivery | None = None
) -> Delivery:
    with transaction.atomic():
        Webhook.objects.filter(pk=hook.pk).update(last_number=F("last_number") + 1)
        number = Webhook.objects.values_list("last_number", flat=True).get(pk=hook.pk)
        delivery = Delivery.objects.create(
            webhook=hook,
            number=number,
            event=event,
            body=body,
            next_attempt=timezone.now(),
            redelivery_of=redelivery_of,
        )
        send_after_commit(delivery.pk, 1)
    return delivery


def send_after_commit(delivery_id, attempt: int) -> None:
    from webhooks import tasks  # the tasks call back into this module

    queue.enqueue_on_commit(tasks.deliver, str(delivery_id), attempt)


def attempt(delivery_id: str, number: int) -> int | None:
    """Make attempt ``number`` at a delivery; the seconds until the next one, or None
    when there is none to make.

    Safe to run twice: an attempt whose number was claimed already does nothing,
    so a message given back to the queue never sends the same attempt again.
    """
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .select_related("webhook")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != Delivery.PENDING:
            return None
        if delivery.attempts >= number:
            return None  # made already, or being made
        delivery.attempts = number
        # Until this attempt is recorded, the sweep leaves it alone.
        delivery.next_attempt = now + dt.timedelta(seconds=_wait(number))
        delivery.save(update_fields=["attempts", "next_attempt"])
    hook = delivery.webhook
    payload = delivery.body.encode()
    headers = {
        wire.SIGNATURE_HEADER: wire.signature(hook.secret, payload),
        wire.EVENT_HEADER: delivery.event,
        wire.DELIVERY_HEADER: str(delivery.pk),
    }
    code, excerpt, error, final = None, "", "", False
    try:
        answer = targets.post(hook.url, payload, headers)
    except targets.Refused as exc:
        error, final = str(exc), True
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    else:
        code, excerpt = answer.code, answer.excerpt
        if not 200 <= code < 300:
            error = f"the receiver answered {code}"
    ok = not error
    if ok:
        delivery.status, delivery.next_attempt = Delivery.DELIVERED, None
    elif final or number >= ATTEMPTS:
        delivery.status, delivery.next_attempt = Delivery.FAILED, None
    else:
        delivery.next_attempt = timezone.now() + dt.timedelta(seconds=_wait(number))
    with transaction.atomic():
        Attempt.objects.create(
            delivery=delivery,
            number=number,
            ok=ok,
            code=code,
            excerpt=excerpt,
            error=error[:500],
            time=timezone.now(),
        )
        delivery.save(update_fields=["status", "next_attempt"])
        if delivery.status != Delivery.PENDING:  # once a delivery, when it has ended
            audit.record(
                "webhook.deliver",
                owner=hook.owner_id,
                target=hook,
                after={
                    "delivery": delivery.number,
                    "event": delivery.event,
                    "status": delivery.status,
                    "attempts": number,
                    "code": code,
                    "error": error[:200],
                },
            )
    return _wait(number) if delivery.status == Delivery.PENDING else None


def _wait(number: int) -> int:
    """Seconds after attempt ``number`` before the next one."""
    return BACKOFF[min(number, len(BACKOFF)) - 1]


# --- Presence ---------------------------------------------------------------------------


def devices_online(devices: list[Device]) -> None:
    """These devices came online: tell their owners' webhooks, and remember them as
    online so that the sweep tells when they go offline."""
    for device in devices:
        if device.owner_id is None or not Webhook.objects.filter(owner_id=device.owner_id).exists():
            continue
        Presence.objects.update_or_create(device_id=device.pk, defaults={"online": True})
        emit(device.owner_id, wire.DEVICE_ONLINE, device_data(device))


def device_data(device: Device) -> dict[str, Any]:
    return {
        "device": device.pk,
        "nick": device.nick,
        "last-seen": device.last_seen.isoformat() if device.last_seen else None,
    }


# --- The sweep --------------------------------------------------------------------------


def sweep(now: dt.datetime | None = None) -> int:
    """Periodic: tell of devices that went offline, and queue again the deliveries
    whose task message was lost. How many of each it found."""
    now = now or timezone.now()
    window = now - dt.timedelta(seconds=settings.DEVICE_ONLINE_WINDOW)
    gone = Presence.objects.filter(online=True, device__last_seen__lt=window)
    found = 0
    for presence in gone.select_related("device")[:1000]:
        with transaction.atomic():
            if Presence.objects.filter(pk=presence.pk, online=True).update(online=False):
                emit(presence.device.owner_id, wire.DEVICE_OFFLINE, device_data(presence.device))
                found += 1
    late = Delivery.objects.filter(status=Delivery.PENDING, next_attempt__lt=now - STALE)
    for delivery_id, attempts in late.values_list("pk", "attempts")[:1000]:
        send_after_commit(delivery_id, attempts + 1)
        found += 1
    return found
