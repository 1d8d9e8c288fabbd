"""Serializers for ``/webhooks``: the secret is written, never read."""

from __future__ import annotations

from rest_framework import serializers

from portal.api.serializers import HyphenatedFieldsMixin
from webhooks import wire


class WebhookSerializer(HyphenatedFieldsMixin, serializers.Serializer):
    id = serializers.CharField(read_only=True)
    url = serializers.URLField(max_length=2000)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=wire.CHOICES),
        min_length=1,
        max_length=len(wire.CHOICES),
        help_text=f"Some of {', '.join(wire.NAMES)}, or * for all.",
    )
    secret = serializers.CharField(
        write_only=True,
        min_length=8,
        max_length=256,
        trim_whitespace=False,
        help_text="Signs each delivery; never answered back.",
    )
    active = serializers.BooleanField(required=False, default=True)
    time_created = serializers.DateTimeField(read_only=True)
    time_modified = serializers.DateTimeField(read_only=True)


class WebhookAttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    ok = serializers.BooleanField()
    code = serializers.IntegerField(allow_null=True, help_text="The receiver's HTTP status")
    excerpt = serializers.CharField(help_text="The start of the receiver's answer")
    error = serializers.CharField(help_text="Why the attempt failed; empty when it did not")
    time = serializers.DateTimeField()


class WebhookDeliverySerializer(HyphenatedFieldsMixin, serializers.Serializer):
    id = serializers.UUIDField(help_text="The X-Trailhub-Delivery header")
    number = serializers.IntegerField()
    event = serializers.CharField()
    status = serializers.ChoiceField(choices=["pending", "delivered", "failed"])
    time_created = serializers.DateTimeField()
    next_attempt = serializers.DateTimeField(allow_null=True)
    redelivery_of = serializers.SerializerMethodField()
    attempts = WebhookAttemptSerializer(source="attempt_set", many=True)

    def get_redelivery_of(self, delivery) -> int | None:
        """The number of the delivery this one sent again."""
        return delivery.redelivery_of.number if delivery.redelivery_of_id else None
