from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The kernel: accounts, API authentication, errors, ids, parsers, the task queue."""

    name = "portal"
    verbose_name = "Accounts"

    def ready(self):
        from portal import schema  # noqa: F401  (registers the OpenAPI auth extension)
