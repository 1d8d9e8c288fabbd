from django.apps import AppConfig
from django.conf import settings


class RevisionsConfig(AppConfig):
    name = "revisions"
    verbose_name = "Revisions and objects"

    def ready(self) -> None:
        from revisions import receivers  # noqa: F401

        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "revisions.collect-garbage",
            {"task": "revisions.tasks.collect_garbage", "schedule": settings.OBJECTS_GC_INTERVAL},
        )
