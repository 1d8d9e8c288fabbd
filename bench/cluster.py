"""The cluster's fault tests at full size, with their figures.

    flock /tmp/bench.lock .venv/bin/python bench/cluster.py [--devices 200] [--processes 4]
        [--fault node|redis] [--no-retry]

Runs trailhub/tests/reliability/test_cluster.py's rollout (testsupport/cluster_rollout.py)
on a fresh cluster (testsupport/cluster.py: two nodes behind nginx, a Celery worker and
beat, PostgreSQL, Redis, Swift S3) for each fault, and prints: the time from the leader's
new revision to the last follower's DONE, the time from the fault to every device holding
its WebSocket again, the page loop's requests, failures and slowest answer, and what the
tests' checks found wrong (nothing, when all is well; with Redis down, the
devices' WebSocket handshakes of REDIS_OUTAGE are counted in ``failed_answers``, not
called wrong). ``--no-retry`` turns nginx's
``proxy_next_upstream`` off, to see what the retry hides.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from testsupport.cluster import Cluster  # noqa: E402
from testsupport.cluster_rollout import REDIS_OUTAGE, rollout  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=200, help="followers (and one leader)")
    parser.add_argument("--processes", type=int, default=4, help="trail-agent processes")
    parser.add_argument("--fault", choices=("node", "redis"), action="append")
    parser.add_argument("--no-retry", action="store_true")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    wrong = 0
    for fault in args.fault or ["node", "redis"]:
        folder = Path(tempfile.mkdtemp(prefix=f"trailhub-cluster-{fault}-"))
        with Cluster(folder / "cluster", retry=not args.no_retry) as cluster:
            strike = cluster.nodes[0].kill if fault == "node" else cluster.restart_redis
            outcome = rollout(cluster, folder / "fleet", args.devices, strike,
                              processes=args.processes)  # fmt: skip
        print(f"\n{fault} fault, {args.devices} followers, retry {not args.no_retry}:")
        for name, value in outcome.figures.items():
            print(
                f"  {name:32} {value:.1f}" if isinstance(value, float) else f"  {name:32} {value}"
            )
        print(f"  {'WebSockets per node before':32} {outcome.sockets_before}")
        print(f"  {'WebSockets per node after':32} {outcome.sockets_after}")
        for problem in outcome.problems(tolerated=REDIS_OUTAGE if fault == "redis" else ()):
            print(f"  WRONG: {problem}")
            wrong += 1
        print(f"  load average {os.getloadavg()[0]:.1f} at the end")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
