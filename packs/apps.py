from django.apps import AppConfig
from django.conf import settings


class PacksConfig(AppConfig):
    name = "packs"
    verbose_name = "Packs"

    def ready(self) -> None:
        # Follow the leaders' revisions, and register the tasks with Celery.
        from packs import receivers, tasks  # noqa: F401

        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "packs.sweep-rollouts",
            {
                "task": "packs.tasks.sweep_rollouts",
                "schedule": settings.PACK_ROLLOUT_SWEEP_INTERVAL,
            },
        )
