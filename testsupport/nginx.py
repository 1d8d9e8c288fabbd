"""deploy/nginx.conf, the site file docs/deployment.md gives, on other ports.

.ci/deployed_smoke.py, ``bench/poll.py --front`` and the cluster tests
(testsupport/cluster.py) serve that very file in front of the processes they
start, with only the listening port replaced and, in each upstream, one
server line per node in place of the file's one; a change to the file is
what they test.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

SITE = Path(__file__).resolve().parents[1] / "deploy" / "nginx.conf"

LISTEN = "listen 80;"
#: Where deploy/nginx.conf sends each upstream's requests, as written there.
UPSTREAMS = {"http": 8000, "ws": 8001, "poll": 8002}


def site(front: int, **ports: int | Sequence[int]) -> str:
    """deploy/nginx.conf listening on loopback ``front``, each upstream (``http``, ``ws``,
    ``poll``) sending to the loopback port or ports given for it, with the file's options."""
    text = SITE.read_text()
    if LISTEN not in text:
        raise ValueError(f"deploy/nginx.conf no longer has {LISTEN!r}")
    text = text.replace(LISTEN, f"listen 127.0.0.1:{front};")
    for name, written in UPSTREAMS.items():
        given = ports[name]
        given = [given] if isinstance(given, int) else list(given)
        line = re.compile(rf"^( *)server 127\.0\.0\.1:{written}( [^;\n]*)?;$", re.MULTILINE)
        found = line.search(text)
        if found is None:
            raise ValueError(f"deploy/nginx.conf has no server line for 127.0.0.1:{written}")
        indent, options = found.group(1), found.group(2) or ""
        servers = "\n".join(f"{indent}server 127.0.0.1:{port}{options};" for port in given)
        text = text[: found.start()] + servers + text[found.end() :]
    return text


def configure(
    folder: Path, *, front: int, workers: int = 1, extra: str = "", retry: bool = True, **ports
) -> Path:
    """Write :func:`site` into ``folder``, inside a main configuration of its own (no daemon,
    logs in ``folder``, ``extra`` directives at its http level); returns that file.
    ``retry=False`` turns ``proxy_next_upstream`` off (the cluster tests' proof that it is
    the retry that hides a dead node)."""
    text = site(front, **ports)
    if not retry:
        text = text.replace("proxy_next_upstream error timeout;", "proxy_next_upstream off;")
    (folder / "site.conf").write_text(text)
    main = folder / "nginx.conf"
    main.write_text(
        f"user root; worker_processes {workers}; daemon off; pid {folder}/nginx.pid;\n"
        f"error_log {folder}/error.log;\nevents {{ worker_connections 4096; }}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {folder}/body;\n"
        f"  proxy_temp_path {folder}/proxy;\n{extra}\n  include {folder}/site.conf;\n}}\n"
    )
    return main
