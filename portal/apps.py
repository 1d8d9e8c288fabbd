from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PortalConfig(AppConfig):
    """The kernel: accounts, API authentication, errors, ids, parsers, the task queue."""

    name = "portal"
    verbose_name = "Accounts"

    def ready(self):
        # The audit log's listeners; the OpenAPI auth extension.
        from portal import receivers, schema  # noqa: F401


class AdminConfig(admin_apps.AdminConfig):
    """Django's admin on the site of portal/admin_site.py (in INSTALLED_APPS in its stead)."""

    default = False  # portal's own config stays PortalConfig
    default_site = "portal.admin_site.AdminSite"
