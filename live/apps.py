from django.apps import AppConfig


class LiveConfig(AppConfig):
    """Live pages and the device socket: Channels consumers, and the events the other
    apps' signals become, sent after commit."""

    name = "live"
    verbose_name = "Live"

    def ready(self) -> None:
        from live import receivers  # noqa: F401  (connects the live events)
