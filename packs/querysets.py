"""Who may see which pack (only its owner), and the filters the pages and API share."""

from __future__ import annotations

from django.apps import apps
from django.db import models
from django.db.models import Count, OuterRef, Q, Subquery

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

    def requiring_signatures_of(self, device_id: str):
        """The packs that require signatures of ``device_id``'s revisions: those that
        require them and that it leads or follows (devices.signing, docs/signing.md)."""
        return self.filter(require_signatures=True).filter(
            Q(leader_id=device_id) | Q(members__device_id=device_id)
        )


class RolloutQuerySet(models.QuerySet):
    def active(self):
        """Rollouts that may still post their leader revision (running or paused)."""
        return self.filter(status__in=ro.ACTIVE)
