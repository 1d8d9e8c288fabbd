"""Who may see which trail, step and object, and the domain filters on them.

Visibility follows the device's (decided in ``devices.querysets``).
"""

from django.apps import apps
from django.db import models
from django.db.models import Exists, OuterRef, Subquery
from django.db.models.functions import Coalesce

from trail import status as st


def _visible_devices(user):
    return apps.get_model("devices", "Device").objects.visible_to(user)


class TrailQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(device__in=_visible_devices(user))

    def with_running_rev(self):
        """Annotate ``running_rev``: the rev of each trail's running step, or None."""
        return self.annotate(running_rev=_running_rev())

    def with_summary(self):
        """Annotate ``running_rev`` and ``summary_step_id``: the newest step the device
        has reported on (not NEW), or the newest step when it has reported on none."""
        Step = apps.get_model("revisions", "Step")
        steps = Step.objects.filter(trail=OuterRef("pk")).order_by("-rev").values("pk")
        reported = steps.exclude(status=st.NEW)
        return self.with_running_rev().annotate(
            summary_step_id=Coalesce(Subquery(reported[:1]), Subquery(steps[:1]))
        )


def with_revisions(devices, head: tuple[str, ...] = ("rev", "status")):
    """Annotate each device with its newest revision's fields, ``head_<field>`` for
    each field in ``head`` (``head_rev``, ``head_status``, …), and ``running_rev``,
    the revision it runs (:meth:`StepQuerySet.running`): one subquery each, so a
    list of devices stays one query.

    The device cards, the pack pages and the packs API read these.
    """
    Step = apps.get_model("revisions", "Step")
    newest = Step.objects.filter(trail_id=OuterRef("pk")).order_by("-rev")
    return devices.annotate(
        **{f"head_{field}": Subquery(newest.values(field)[:1]) for field in head},
        running_rev=_running_rev(),
    )


def _running_rev() -> Subquery:
    """The rev of the running step of the trail ``OuterRef("pk")`` names (a trail's
    id is its device's, so a device's too), or None."""
    Step = apps.get_model("revisions", "Step")
    running = Step.objects.filter(trail_id=OuterRef("pk")).running()
    return Subquery(running.values("rev")[:1])


#: trail.status.PENDING in the table's order, so that the query is the same every time.
OPEN_STATUSES = tuple(status for status in st.STATUSES if status in st.PENDING)


class StepQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(trail__device__in=_visible_devices(user))

    def pending(self):
        """Steps the device has still to finish (not in a final status), oldest first.

        Written as ``status IN (open statuses)`` rather than ``NOT IN (final)``, so
        the (trail, status, rev) index reads only the pending rows of the poll.
        """
        return self.filter(status__in=OPEN_STATUSES).order_by("rev")

    def running(self):
        """Steps the device runs or ran, newest first: the first is the running revision."""
        return self.filter(status__in=st.RUNNING_OK).order_by("-rev")

    def public(self):
        return self.filter(trail__device__public=True)


class OwnerObjectQuerySet(models.QuerySet):
    def present(self):
        """Objects whose owner may use them: uploaded or linked, not merely granted."""
        return self.exclude(kind="pending")


class StepObjectQuerySet(models.QuerySet):
    def held(self):
        """Shas whose step's owner holds them (uploaded the bytes, or linked them from
        content that was already public).

        A state may name any sha; naming one grants nothing. A step serves,
        exports and publishes only the objects its owner holds, so a device
        that names someone else's sha never reaches their bytes, and a public
        device never makes them public.
        """
        OwnerObject = apps.get_model("revisions", "OwnerObject")
        holds = OwnerObject.objects.present().filter(
            owner_id=OuterRef("step__trail__device__owner_id"), sha256=OuterRef("sha256")
        )
        return self.filter(Exists(holds))
