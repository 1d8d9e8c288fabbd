"""``/webhooks``: an owner's webhooks, their deliveries, and redelivery."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.docs import ANONYMOUS_401, answer_example, request_example
from portal.api.guards import require_person
from portal.api.params import LIMIT, limit_param
from webhooks import services
from webhooks.api.serializers import WebhookDeliverySerializer, WebhookSerializer

HOOK_ID = "5f3c2d4e6a8b0c1d2e3f4a77"
HOOK = {
    "id": HOOK_ID,
    "url": "https://ci.example.com/trailhub-hook",
    "events": ["revision.status", "rollout.paused"],
    "active": True,
    "time-created": "2026-12-06T10:00:00Z",
    "time-modified": "2026-12-06T10:00:00Z",
}
DELIVERY = {
    "id": "0b6c8a52-3f0e-4a53-9d6e-2d3c1f9b8e11",
    "number": 3,
    "event": "revision.status",
    "status": "delivered",
    "time-created": "2026-12-06T10:05:00Z",
    "next-attempt": None,
    "redelivery-of": None,
    "attempts": [
        {
            "number": 1,
            "ok": False,
            "code": 500,
            "excerpt": "Internal Server Error",
            "error": "the receiver answered 500",
            "time": "2026-12-06T10:05:00Z",
        },
        {
            "number": 2,
            "ok": True,
            "code": 200,
            "excerpt": "ok",
            "error": "",
            "time": "2026-12-06T10:05:10Z",
        },
    ],
}
WHO = (
    " Your own webhooks only: another person's is a 404, a device gets a 403 `person-only`,"
    " a scoped token a 403 `scope-login-only`. " + ANONYMOUS_401
)
TARGETS = (
    " The URL must be http(s) to a public address: a private, loopback, link-local, multicast"
    " or reserved one (named, or what its name resolves to) is a 400 `bad-target`, unless the"
    " hub runs with `WEBHOOK_ALLOW_PRIVATE_TARGETS`."
)


def _deliveries(hook, limit: int):
    return hook.deliveries.select_related("redelivery_of").prefetch_related("attempt_set")[:limit]


class WebhooksView(APIView):
    @extend_schema(
        summary="List your webhooks",
        description="Your webhooks, newest first; never their secrets." + WHO,
        responses=WebhookSerializer(many=True),
        examples=[answer_example(HOOK)],
    )
    def get(self, request):
        person = require_person(request)
        return Response(WebhookSerializer(services.webhooks_of(person), many=True).data)

    @extend_schema(
        summary="Register a webhook",
        description=(
            "Be told of events on your own devices and packs: each is POSTed as JSON"
            ' `{"event", "time", "data"}`, signed with the secret (`X-Trailhub-Signature-256:'
            " sha256=<hex HMAC-SHA256 of the body>`), and retried with backoff when the"
            " receiver does not answer 2xx. The secret is never answered back. At most"
            f" {services.MOST_WEBHOOKS} webhooks a person (400 `too-many-webhooks`)."
            + TARGETS
            + WHO
        ),
        request=WebhookSerializer,
        responses={201: WebhookSerializer},
        examples=[
            request_example(
                {
                    "url": HOOK["url"],
                    "events": HOOK["events"],
                    "secret": "a long random string",
                }
            ),
            answer_example(HOOK, status=201),
        ],
    )
    def post(self, request):
        person = require_person(request)
        form = WebhookSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        hook = services.register(person, **form.validated_data)
        return Response(WebhookSerializer(hook).data, status=status.HTTP_201_CREATED)


class WebhookView(APIView):
    @extend_schema(
        summary="Read a webhook",
        description="One of your webhooks, without its secret." + WHO,
        responses=WebhookSerializer,
        examples=[answer_example(HOOK)],
    )
    def get(self, request, webhook_id: str):
        person = require_person(request)
        return Response(WebhookSerializer(services.webhook_of(person, webhook_id)).data)

    @extend_schema(
        summary="Change a webhook",
        description="Change any of its `url`, `events`, `secret` and `active` (false: no new"
        " deliveries). The answer never holds the secret." + TARGETS + WHO,
        request=WebhookSerializer(partial=True),
        responses=WebhookSerializer,
        examples=[request_example({"events": ["*"], "active": False}), answer_example(HOOK)],
    )
    def patch(self, request, webhook_id: str):
        person = require_person(request)
        services.webhook_of(person, webhook_id)  # a 404 before a 400
        form = WebhookSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        fields = {name: value for name, value in form.validated_data.items()}
        hook = services.change(person, webhook_id, **fields)
        return Response(WebhookSerializer(hook).data)

    @extend_schema(
        summary="Delete a webhook",
        description="Delete a webhook and its deliveries; it answers what was deleted." + WHO,
        responses={200: WebhookSerializer},
        examples=[answer_example(HOOK)],
    )
    def delete(self, request, webhook_id: str):
        person = require_person(request)
        return Response(WebhookSerializer(services.remove(person, webhook_id)).data)


class DeliveriesView(APIView):
    @extend_schema(
        summary="List a webhook's deliveries",
        description="Its deliveries, newest first, each with every attempt: whether it"
        " succeeded, the receiver's status code, the start of its answer, or the error"
        " (a refused target, a timeout, a refused connection)." + WHO,
        parameters=[LIMIT],
        responses=WebhookDeliverySerializer(many=True),
        examples=[answer_example(DELIVERY)],
    )
    def get(self, request, webhook_id: str):
        person = require_person(request)
        hook = services.webhook_of(person, webhook_id)
        limit = limit_param(request)
        return Response(WebhookDeliverySerializer(_deliveries(hook, limit), many=True).data)


class RedeliverView(APIView):
    @extend_schema(
        summary="Send a delivery again",
        description="Send delivery `number`'s body again, now, as a new delivery with its own"
        " id and number (its `redelivery-of` names the first); 202 with the new delivery,"
        " sent after the answer." + WHO,
        request=None,
        responses={202: WebhookDeliverySerializer},
        examples=[answer_example({**DELIVERY, "number": 4, "redelivery-of": 3}, status=202)],
    )
    def post(self, request, webhook_id: str, number: str):
        person = require_person(request)
        delivery = services.redeliver(person, webhook_id, number)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
