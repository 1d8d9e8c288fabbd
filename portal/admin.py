from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from portal.models import ApiToken, AuditEntry, SigningKey, User

# admin.site is portal.admin_site.AdminSite (portal.apps.AdminConfig): its login counts
# failures as the other logins do, and asks for the second factor as they do.


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "is_staff", "is_active", "date_joined")
    search_fields = ("username", "email")
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Profile", {"fields": ("bio",)}),
        # Its authenticators and recovery codes are under "OTP_TOTP" and "OTP_STATIC":
        # deleting them (a lost phone) turns two-factor login off; untick this first.
        ("Two-factor login", {"fields": ("require_2fa",)}),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Scoped tokens: only their hash is stored; the admin can see and delete (revoke) them."""

    list_display = ("name", "prefix", "owner", "time_created", "last_used", "expires_at")
    list_select_related = ("owner",)
    search_fields = ("name", "prefix", "owner__username")
    raw_id_fields = ("owner",)
    readonly_fields = ("id", "digest", "prefix", "scopes", "time_created", "last_used")


@admin.register(SigningKey)
class SigningKeyAdmin(admin.ModelAdmin):
    """Public keys, CA certificates and trusted users that a person's devices may require."""

    list_display = ("name", "owner", "kind", "fingerprint", "trusted_user", "time_created")
    list_filter = ("kind",)
    list_select_related = ("owner", "trusted_user")
    search_fields = ("name", "fingerprint", "owner__username")
    raw_id_fields = ("owner", "trusted_user")
    readonly_fields = ("id", "kind", "pem", "fingerprint", "time_created")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit log, read only: entries are written by the services and pruned after
    AUDIT_RETENTION_DAYS, never edited."""

    list_display = ("time", "action", "owner", "actor", "via", "token_name", "address", "target")
    list_filter = ("action", "actor_kind", "via", "time")
    list_select_related = ("owner",)
    search_fields = ("owner__username", "actor", "token_name", "address", "target", "target_name")
    date_hierarchy = "time"
    readonly_fields = [field.name for field in AuditEntry._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
