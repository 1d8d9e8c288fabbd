from django.apps import AppConfig


class RevisionsConfig(AppConfig):
    name = "revisions"
    verbose_name = "Revisions and objects"

    def ready(self) -> None:
        from revisions import receivers  # noqa: F401
