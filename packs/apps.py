from django.apps import AppConfig


class PacksConfig(AppConfig):
    name = "packs"
    verbose_name = "Packs"

    def ready(self) -> None:
        # Follow the leaders' revisions, register the tasks with Celery, and require
        # signatures of the leader and the followers of a pack that requires them.
        from devices.signing import register_rule
        from packs import receivers, tasks  # noqa: F401
        from packs.services.membership import signing_rule

        register_rule(signing_rule)
