"""Two hub nodes behind nginx survive losing one, and Redis restarting, mid-rollout.

The cluster is testsupport/cluster.py (docs/deployment.md, "Several nodes"): two
nodes of gunicorn and uvicorn, one Celery worker and beat, PostgreSQL, a Redis of
its own, Swift's S3, nginx in front. A pack rollout runs through it
(testsupport/cluster_rollout.py) and, when some followers are DONE and others not,
one node is SIGKILLed whole, or Redis is restarted empty. Then: every follower ends
DONE on the new revision; no revision and no delivery is doubled; every device holds
its WebSocket again, on the nodes still up; every object the states name is in the
bucket, intact; and the page loop saw no failure. The fleet's size is
TRAILHUB_CLUSTER_DEVICES (30 by default; bench/cluster.py runs 200).
"""

from __future__ import annotations

import os

import pytest

from testsupport.cluster import Cluster
from testsupport.cluster_rollout import REDIS_OUTAGE, rollout

pytestmark = pytest.mark.reliability

DEVICES = int(os.environ.get("TRAILHUB_CLUSTER_DEVICES", "30"))


@pytest.fixture
def cluster(tmp_path):
    with Cluster(tmp_path / "cluster") as cluster:
        yield cluster


def test_a_node_killed_mid_rollout(cluster, tmp_path):
    dead, alive = cluster.nodes
    outcome = rollout(cluster, tmp_path / "fleet", DEVICES, dead.kill)
    assert len(outcome.followers) == DEVICES
    assert not outcome.problems(), outcome.problems()
    # Both nodes held sockets; the dead node's devices are now on the other one.
    assert all(outcome.sockets_before), outcome.sockets_before
    assert outcome.sockets_after == [0, DEVICES + 1]
    assert "Traceback" not in alive.http.log_tail(10_000) + alive.ws.log_tail(10_000)


def test_redis_restarted_mid_rollout(cluster, tmp_path):
    outcome = rollout(cluster, tmp_path / "fleet", DEVICES, cluster.restart_redis)
    assert len(outcome.followers) == DEVICES
    # The device WebSockets end with Redis (their channel layer) and come back; a device's
    # handshake while Redis is down is answered 500 and tried again (REDIS_OUTAGE). Polls
    # and pages must be answered throughout.
    problems = outcome.problems(tolerated=REDIS_OUTAGE)
    assert not problems, problems
