"""Who may see which webhook: its owner alone."""

from __future__ import annotations

from django.db import models


class WebhookQuerySet(models.QuerySet):
    def of(self, person):
        """The webhooks ``person`` made (nobody else sees them, staff included, over the API)."""
        return self.filter(owner_id=person.pk)

    def wanting(self, owner_id: int, event: str):
        """The owner's active webhooks that asked for ``event``."""
        hooks = self.filter(owner_id=owner_id, active=True)
        return [hook for hook in hooks if hook.wants(event)]
