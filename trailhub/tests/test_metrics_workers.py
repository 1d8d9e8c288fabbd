"""``/metrics`` under gunicorn with several worker processes (PROMETHEUS_MULTIPROC_DIR):
whichever worker answers the scrape, the counters are every worker's sum."""

from __future__ import annotations

import httpx
import pytest

from testsupport.live import LiveHub
from trailhub.tests.metrics_helpers import TOKEN, samples, value

pytestmark = pytest.mark.e2e

REQUESTS = 60


def test_counters_add_up_across_worker_processes(tmp_path):
    hub = LiveHub(tmp_path, "gunicorn", workers=3)
    counters = tmp_path / "prometheus"
    counters.mkdir()
    hub.env.update(PROMETHEUS_MULTIPROC_DIR=str(counters), METRICS_TOKEN=TOKEN)
    hub.migrate()
    hub.start()
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    try:
        first = httpx.get(f"{hub.url}/metrics", headers=bearer)
        for _ in range(REQUESTS):  # a new connection each: the workers share them out
            assert httpx.get(f"{hub.url}/auth/auth_status").status_code == 401
        scrapes = [httpx.get(f"{hub.url}/metrics", headers=bearer) for _ in range(6)]
    finally:
        hub.stop()
    processes = {path.name for path in counters.glob("counter_*.db")}  # one per process
    assert len(processes) > 1

    def auth_status(scrape) -> float:
        assert scrape.status_code == 200
        labels = {"route": "api-auth-status", "method": "GET", "status": "401"}
        return value(samples(scrape.text), "trailhub_http_requests_total", **labels)

    # Whichever worker answered, each scrape counts every worker's requests.
    assert [auth_status(scrape) - auth_status(first) for scrape in scrapes] == [REQUESTS] * 6
    scraped = [
        value(samples(s.text), "trailhub_http_requests_total", route="metrics", method="GET",
              status="200")
        for s in scrapes
    ]  # fmt: skip
    assert scraped == [1, 2, 3, 4, 5, 6]
