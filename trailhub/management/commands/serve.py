"""Serve everything the configuration needs, in the foreground (what `make run` runs).

Without a broker (the embedded default), one uvicorn process serves the pages,
the API and the WebSockets, and Celery tasks run inline. With one
(``REDIS_URL`` or ``CELERY_BROKER_URL``), honcho runs the Procfile: that
uvicorn, a Celery worker and Celery beat, their output interleaved. Either
way this process becomes the server (exec), so one Ctrl-C stops it all:
honcho ends each process group and kills what has not gone after 5 s.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

BIN = Path(sys.executable).parent


class Command(BaseCommand):
    help = "Serve the hub; with a broker configured, a Celery worker and beat as well."
    requires_system_checks: list[str] = []  # `make run` has just migrated, which checked

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host: str, port: int, **options) -> None:
        env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOST": host,
            "TRAILHUB_VAR_DIR": str(settings.VAR_DIR),
            # One ASGI process serves HTTP too: a connection kept per request
            # thread would pile up (docs/deployment.md).
            "DATABASE_CONN_MAX_AGE": os.environ.get("DATABASE_CONN_MAX_AGE", "0"),
        }
        self.stdout.write(
            f"Serving pages, API and WebSockets on http://{host}:{port}/"
            "  (API docs: /api/docs/, admin: /admin/)"
        )
        if settings.CELERY_TASK_ALWAYS_EAGER:
            self.stdout.write("Celery tasks run inline (no broker configured)")
            argv = [str(BIN / "uvicorn"), "trailhub.asgi:application", "--host", host,
                    "--port", str(port), "--lifespan", "off"]  # fmt: skip
        else:
            self.stdout.write("With a Celery worker and beat: the Procfile, run by honcho")
            argv = [str(BIN / "honcho"), "--procfile", str(settings.BASE_DIR / "Procfile"),
                    "--app-root", str(settings.BASE_DIR), "start", "--port", str(port)]  # fmt: skip
        self.stdout.flush()
        os.execve(argv[0], argv, env)
