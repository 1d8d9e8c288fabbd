from django.apps import AppConfig
from django.conf import settings

from portal.env import envint


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
                "schedule": envint("PACK_ROLLOUT_SWEEP_INTERVAL", 30, minimum=5),
            },
        )
