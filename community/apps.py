from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "community"
    verbose_name = "Community"

    def ready(self) -> None:
        # Forks follow their upstream's revisions; register the tasks with Celery.
        from community import receivers, tasks  # noqa: F401
