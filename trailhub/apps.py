from django.apps import AppConfig


class TrailhubConfig(AppConfig):
    """The project: settings, URLs, the home and dashboard pages, probes, metrics, Celery."""

    name = "trailhub"
    verbose_name = "Trailhub"

    def ready(self):
        from celery.signals import task_failure

        from portal.metrics import count_task_failure
        from trailhub import checks  # noqa: F401  (registers the deployment checks)

        task_failure.connect(count_task_failure, weak=False, dispatch_uid="trailhub-metrics")
