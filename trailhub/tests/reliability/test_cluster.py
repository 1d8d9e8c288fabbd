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
from testsupport.cluster_rollout import Outcome, rollout

pytestmark = pytest.mark.reliability

DEVICES = int(os.environ.get("TRAILHUB_CLUSTER_DEVICES", "30"))


@pytest.fixture
def cluster(tmp_path):
    with Cluster(tmp_path / "cluster") as cluster:
        yield cluster


def check_rollout(outcome: Outcome) -> None:
    """What must hold after any fault: the fleet updated once, nothing lost."""
    leader, *followers = outcome.members
    assert len(followers) == DEVICES
    late = [m for m in followers if (m["head-rev"], m["running-rev"], m["head-status"])
            != (1, 1, "DONE")]  # fmt: skip
    assert not late, f"{len(late)} followers not DONE on rev 1: {late[:3]}"
    for member in outcome.members:
        revisions = outcome.steps[member["id"]]
        assert [rev for rev, _ in revisions] == [0, 1], (member["id"], revisions)
    states = {sha for device in outcome.followers for rev, sha in outcome.steps[device] if rev}
    assert len(states) == 1  # every follower carries the leader's one new state
    # One delivery of the new revision per follower, carried by one revision of its own.
    doubled = [row for row in outcome.deliveries if row[3:] != (1, 1)]
    assert not doubled, doubled
    release = sorted((device, kind) for rev, device, kind, *_ in outcome.deliveries if rev == 1)
    assert release == sorted((device, "release") for device in outcome.followers)
    assert outcome.objects and set(outcome.objects.values()) == {"ok"}, outcome.objects
    assert outcome.pages.requests > 0
    assert not outcome.pages.failures, outcome.pages.failures[:10]
    assert outcome.agents_alive


def test_a_node_killed_mid_rollout(cluster, tmp_path):
    dead, alive = cluster.nodes
    outcome = rollout(cluster, tmp_path / "fleet", DEVICES, dead.kill)
    check_rollout(outcome)
    # Both nodes held sockets; the dead node's devices are now on the other one.
    assert all(outcome.sockets_before), outcome.sockets_before
    assert outcome.sockets_after == [0, DEVICES + 1]
    assert "Traceback" not in alive.http.log_tail(10_000) + alive.ws.log_tail(10_000)


def test_redis_restarted_mid_rollout(cluster, tmp_path):
    outcome = rollout(cluster, tmp_path / "fleet", DEVICES, cluster.restart_redis)
    check_rollout(outcome)
    assert sum(outcome.sockets_after) == DEVICES + 1
