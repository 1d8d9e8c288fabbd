"""The operators' admin for packs, rollouts and deliveries."""

from django.contrib import admin

from packs.models import Delivery, Pack, PackMember, Rollout, Wave


class PackMemberInline(admin.TabularInline):
    model = PackMember
    raw_id_fields = ("device",)
    extra = 0


@admin.register(Pack)
class PackAdmin(admin.ModelAdmin):
    """Membership rules (ownership, loops) are checked by the API and pages, not here."""

    list_display = (
        "nick",
        "owner",
        "leader",
        "canary_share",
        "wave_size",
        "failure_threshold",
        "require_signatures",
    )
    list_select_related = ("owner", "leader")
    search_fields = ("id", "nick", "owner__username", "leader__nick")
    raw_id_fields = ("owner", "leader")
    readonly_fields = ("id", "time_created", "time_modified")
    inlines = [PackMemberInline]


class WaveInline(admin.TabularInline):
    model = Wave
    extra = 0
    can_delete = False
    readonly_fields = ("number", "kind", "status", "status_msg", "time_started", "time_decided")


@admin.register(Rollout)
class RolloutAdmin(admin.ModelAdmin):
    """Rollouts move by their state machine only (the owner's API actions, the tasks)."""

    list_display = ("id", "pack", "leader_step", "status", "time_created", "time_finished")
    list_filter = ("status",)
    list_select_related = ("pack", "leader_step")
    search_fields = ("id", "pack__nick")
    readonly_fields = [f.name for f in Rollout._meta.fields]
    inlines = [WaveInline]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "rollout", "device", "kind", "status", "step", "time_posted")
    list_filter = ("kind", "status")
    list_select_related = ("rollout", "device", "step")
    search_fields = ("device__id", "device__nick", "rollout__id")
    readonly_fields = [f.name for f in Delivery._meta.fields]
