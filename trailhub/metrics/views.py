"""``GET /metrics``: the Prometheus text format, for the scraper the settings name.

Off (a 404, as if there were no such page) unless ``METRICS_TOKEN`` or
``METRICS_ALLOW`` is set; when both are, a scrape needs both. The client
address is the connection's (``REMOTE_ADDR``): Prometheus scrapes each
machine's workers directly, never through the load balancer, because each
machine counts its own requests (docs/operations.md).
"""

from __future__ import annotations

import glob
import hmac
import ipaddress
import os

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from portal.errors import json_error
from trailhub.metrics.collectors import HubCollector

HUB = CollectorRegistry(auto_describe=False)
HUB.register(HubCollector())


def _allowed_address(request) -> bool:
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOW)


def _has_token(request) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), settings.METRICS_TOKEN.encode()
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _process_registry() -> CollectorRegistry:
    """Every server process's counters (multiprocess mode), or this process's own."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        return REGISTRY
    # A dead worker's open WebSockets are no longer open: forget its live gauges
    # (its counters stay: what it counted happened). Neither gunicorn nor uvicorn
    # needs a hook for it.
    for name in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        pid = name.rsplit("_", 1)[1].removesuffix(".db")
        if pid.isdigit() and not _pid_alive(int(pid)):
            multiprocess.mark_process_dead(int(pid), path)
    registry = CollectorRegistry(auto_describe=False)
    multiprocess.MultiProcessCollector(registry, path)
    return registry


@require_GET
def metrics(request):
    if not (settings.METRICS_TOKEN or settings.METRICS_ALLOW):
        raise Http404("metrics are off: set METRICS_TOKEN or METRICS_ALLOW")
    if settings.METRICS_ALLOW and not _allowed_address(request):
        return json_error("this address may not read the metrics", "forbidden", 403)
    if settings.METRICS_TOKEN and not _has_token(request):
        response = json_error("send the metrics token as a bearer token", "unauthorized", 401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body = generate_latest(_process_registry()) + generate_latest(HUB)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
