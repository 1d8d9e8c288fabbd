"""deploy/nginx.conf, the one machine's site file docs/deployment.md gives, on other ports.

.ci/deployed_smoke.py and ``bench/poll.py --front`` serve that very file in front of
the processes they start, with only the upstreams' and the listening ports
replaced; a change to the file is what they test.
"""

from __future__ import annotations

from pathlib import Path

SITE = Path(__file__).resolve().parents[1] / "deploy" / "nginx.conf"

#: What deploy/nginx.conf listens on and where it sends requests, as written there.
DEFAULTS = {"front": "listen 80;", "http": "127.0.0.1:8000", "ws": "127.0.0.1:8001",
            "poll": "127.0.0.1:8002"}  # fmt: skip


def configure(folder: Path, *, front: int, http: int, ws: int, poll: int, workers: int = 1) -> Path:
    """Write deploy/nginx.conf with these loopback ports into ``folder``, inside a main
    configuration of its own (no daemon, logs in ``folder``); returns that file."""
    site = SITE.read_text()
    ports = {"front": front, "http": http, "ws": ws, "poll": poll}
    for name, written in DEFAULTS.items():
        if written not in site:
            raise ValueError(f"deploy/nginx.conf no longer has {written!r}")
        replacement = (
            f"listen 127.0.0.1:{front};" if name == "front" else f"127.0.0.1:{ports[name]}"
        )
        site = site.replace(written, replacement)
    (folder / "site.conf").write_text(site)
    main = folder / "nginx.conf"
    main.write_text(
        f"user root; worker_processes {workers}; daemon off; pid {folder}/nginx.pid;\n"
        f"error_log {folder}/error.log;\nevents {{ worker_connections 1024; }}\n"
        f"http {{ access_log off; include {folder}/site.conf; }}\n"
    )
    return main
