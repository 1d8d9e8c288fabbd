"""Admin for trails, steps and objects.

Revisions and stored bytes change only through ``revisions.services`` (rev
numbers, the state machine, object checks) and garbage collection, so the
admin shows them read-only except for the free-form fields.
"""

from django.contrib import admin

from revisions.models import Blob, OwnerObject, ProgressReport, Step, Trail
from revisions.services.steps import PROGRESS_FIELDS


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Trail)
class TrailAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("device", "device_id", "head_rev", "last_touched", "time_created")
    list_select_related = ("device",)
    search_fields = ("device__id", "device__nick", "device__owner__username")
    readonly_fields = ("device", "head_rev", "time_created", "last_touched")
    ordering = ("-last_touched",)


@admin.register(Step)
class StepAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("__str__", "trail", "rev", "status", "progress", "author", "time_created")
    list_filter = ("status", "signed")
    list_select_related = ("trail__device", "author")
    search_fields = ("trail__device__id", "trail__device__nick", "commit_msg", "state_sha")
    raw_id_fields = ("trail", "author", "forked_from")
    readonly_fields = (
        "trail",
        "rev",
        "state",
        "state_sha",
        "signed",
        "author",
        "forked_from",
        "status",
        *PROGRESS_FIELDS,
        "progress_time",
        "time_created",
        "time_modified",
    )
    ordering = ("-time_created",)
    show_full_result_count = False


@admin.register(ProgressReport)
class ProgressReportAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """A step's progress history, as the device and the owner made it."""

    list_display = ("step", "status", "progress", "status_msg", "actor", "time", "count")
    list_filter = ("status", "actor")
    list_select_related = ("step",)
    search_fields = ("step__trail__device__id", "step__trail__device__nick")
    fields = ("step", "status", "progress", "status_msg", "actor", "time", "last_time", "count")
    readonly_fields = fields
    ordering = ("-id",)
    show_full_result_count = False


@admin.register(OwnerObject)
class OwnerObjectAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("objectname", "sha256", "owner", "kind", "size", "time_modified")
    list_filter = ("kind",)
    list_select_related = ("owner",)
    search_fields = ("sha256", "objectname", "owner__username")
    raw_id_fields = ("owner",)
    readonly_fields = ("id", "owner", "sha256", "size", "kind", "time_created", "time_modified")
    ordering = ("-time_modified",)
    show_full_result_count = False


@admin.register(Blob)
class BlobAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Stored bytes; garbage collection deletes them (with their files), never the admin."""

    list_display = ("sha256", "size", "time_created")
    search_fields = ("sha256",)
    readonly_fields = ("sha256", "size", "time_created")
    ordering = ("-time_created",)
    show_full_result_count = False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
