from django.apps import AppConfig
from django.conf import settings


class DevicesConfig(AppConfig):
    name = "devices"
    verbose_name = "Devices"

    def ready(self) -> None:
        # Packs: follow the leaders' revisions, and register the tasks with Celery.
        from devices.packs import receivers, tasks  # noqa: F401

        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "devices.packs.sweep-rollouts",
            {
                "task": "devices.packs.tasks.sweep_rollouts",
                "schedule": settings.PACK_ROLLOUT_SWEEP_INTERVAL,
            },
        )
