"""Image references as people type them: ``host:port/repo:tag`` or ``repo@sha256:…``.

The grammar is the one of the distribution project (docker, skopeo, pvr):
the first path component is a registry host when it contains a ``.`` or a
``:`` or is ``localhost``; otherwise the image lives on Docker Hub, where a
one-component name means ``library/<name>``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from trail.apps.errors import AppError

DOCKER_HUB = "docker.io"
#: Where Docker Hub's registry API actually answers.
DOCKER_HUB_API = "registry-1.docker.io"
DEFAULT_TAG = "latest"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_HOST = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class ImageRef:
    """A parsed registry reference. ``tag`` and ``digest`` may both be set
    (``repo:tag@sha256:…``); then the digest decides what is pulled."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        """The image name without tag or digest, as people write it."""
        if self.registry == DOCKER_HUB:
            short = self.repository.removeprefix("library/")
            return short
        return f"{self.registry}/{self.repository}"

    @property
    def reference(self) -> str:
        """What to ask the registry's manifests endpoint for."""
        return self.digest or self.tag or DEFAULT_TAG

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str) -> ImageRef:
    """Parse ``text`` or raise :class:`AppError` (``bad-source``) saying what is wrong."""
    original = text
    digest = None
    if "@" in text:
        text, digest = text.split("@", 1)
        if not DIGEST.fullmatch(digest):
            raise AppError(
                "bad-source", f"{original!r}: a digest must look like sha256:<64 hex digits>"
            )
    tag = None
    slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > slash:
        text, tag = text[:colon], text[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise AppError("bad-source", f"{original!r}: {tag!r} is not a valid tag")
    first, _, rest = text.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, rest
        if not _HOST.fullmatch(registry):
            raise AppError("bad-source", f"{original!r}: {registry!r} is not a registry host")
    else:
        registry, repository = DOCKER_HUB, text
        if "/" not in repository:
            repository = f"library/{repository}"
    if not _REPOSITORY.fullmatch(repository):
        raise AppError(
            "bad-source",
            f"{original!r} is neither an existing file or directory nor an image reference "
            "(host:port/repository:tag, repository@sha256:…; lowercase names)",
        )
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return ImageRef(registry=registry, repository=repository, tag=tag, digest=digest)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (``name[:port]`` or ``[v6]:port``) is this machine."""
    if host.startswith("["):
        name = host[1 : host.index("]")]
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if name.lower() == "localhost" or name.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
