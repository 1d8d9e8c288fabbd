"""Settings for benchmark servers: Trailhub's own, with bench/urls.py's trivial view added.

``DJANGO_SETTINGS_MODULE=bench.site`` serves everything Trailhub serves and
``/__trivial__/``, so that a script can time an endpoint against a trivial
view on the same server, in the same run.
"""

import os

from trailhub.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# Under ASGI each concurrent request runs in its own thread, and a persistent
# connection per thread piles up until PostgreSQL refuses more clients: the
# ASGI measurements run with BENCH_CONN_MAX_AGE=0.
if os.environ.get("BENCH_CONN_MAX_AGE"):
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ["BENCH_CONN_MAX_AGE"])  # noqa: F405
