from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # Hear the lower apps' signals, and register the tasks with Celery.
        from webhooks import receivers, tasks  # noqa: F401
