from django.apps import AppConfig


class PacksConfig(AppConfig):
    name = "packs"
    verbose_name = "Packs"

    def ready(self) -> None:
        # Follow the leaders' revisions, and register the tasks with Celery.
        from packs import receivers, tasks  # noqa: F401
