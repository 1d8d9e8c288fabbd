from django.contrib import admin

from devices.models import AutoToken, Device, DeviceLog


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ("nick", "id", "owner", "public", "has_hardware", "last_seen", "time_created")
    list_filter = ("public", "has_hardware")
    list_select_related = ("owner",)
    search_fields = ("id", "nick", "owner__username", "description")
    raw_id_fields = ("owner",)
    readonly_fields = ("id", "secret_hash", "time_created", "time_modified", "last_seen")
    ordering = ("-time_created",)


@admin.register(AutoToken)
class AutoTokenAdmin(admin.ModelAdmin):
    """Tokens themselves are never stored; the admin can see and disable them."""

    list_display = ("prefix", "owner", "description", "disabled", "use_count", "last_used")
    list_filter = ("disabled",)
    list_select_related = ("owner",)
    search_fields = ("prefix", "description", "owner__username")
    raw_id_fields = ("owner",)
    readonly_fields = ("id", "token_hash", "prefix", "time_created", "last_used", "use_count")
    actions = ["disable"]

    @admin.action(description="Disable the selected tokens")
    def disable(self, request, queryset):
        queryset.update(disabled=True)


@admin.register(DeviceLog)
class DeviceLogAdmin(admin.ModelAdmin):
    list_display = ("time", "device", "lvl", "src", "short_msg")
    list_filter = ("lvl",)
    list_select_related = ("device",)
    search_fields = ("device__id", "device__nick", "msg")
    raw_id_fields = ("device",)
    readonly_fields = ("time_created",)
    ordering = ("-time", "-id")
    # Log tables grow large: skip the full COUNT(*) on every page.
    show_full_result_count = False

    @admin.display(description="message")
    def short_msg(self, entry: DeviceLog) -> str:
        return entry.msg[:120]
