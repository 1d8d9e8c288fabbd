"""Who may see which pack (only its owner), and the filters the pages and API share."""

from __future__ import annotations

from django.apps import apps
from django.db import models
from django.db.models import Count, OuterRef, Subquery

from packs import rollout as ro


class PackQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Packs ``user`` may see and manage: a person's own. Devices and anonymous see none."""
        if user is None or getattr(user, "is_device", False) or not user.is_authenticated:
            return self.none()
        return self.filter(owner=user)

    def with_summary(self):
        """Annotate ``follower_count`` and the newest rollout's ``rollout_status``."""
        Rollout = apps.get_model("packs", "Rollout")
        newest = Rollout.objects.filter(pack=OuterRef("pk")).order_by("-time_created", "-id")
        return self.select_related("leader").annotate(
            follower_count=Count("members", distinct=True),
            rollout_status=Subquery(newest.values("status")[:1]),
        )


class RolloutQuerySet(models.QuerySet):
    def active(self):
        """Rollouts that may still post their leader revision (running or paused)."""
        return self.filter(status__in=ro.ACTIVE)
