from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Accounts"

    def ready(self):
        from celery.signals import task_failure

        from portal import checks, schema  # noqa: F401  (register checks, the OpenAPI auth extension)
        from portal.metrics import count_task_failure

        task_failure.connect(count_task_failure, weak=False, dispatch_uid="trailhub-metrics")
