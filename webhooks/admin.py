from django.contrib import admin

from webhooks.models import Attempt, Delivery, Webhook


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ("url", "owner", "active", "time_created")
    list_filter = ("active",)
    search_fields = ("url", "owner__username")
    exclude = ("secret",)  # write-only everywhere


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    readonly_fields = ("number", "ok", "code", "excerpt", "error", "time")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("webhook", "number", "event", "status", "attempts", "time_created")
    list_filter = ("status", "event")
    readonly_fields = ("id", "webhook", "number", "event", "body", "redelivery_of")
    inlines = [AttemptInline]
