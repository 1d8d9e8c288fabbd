"""What a scoped token or an OAuth app may do: its scopes, and the scope each API request
needs.

A scope is ``<resource>:read`` or ``<resource>:write``. The resource of a
request is named by its path's first segment, so an endpoint added under a
known prefix is covered without a list to keep; a request under any other
prefix (``/auth``: logging in, refreshing, managing tokens) needs a full login
and a scoped token is refused there, except to ask who it is.
"""

from __future__ import annotations

RESOURCES = ("devices", "trails", "objects", "packs")
# The audit log (portal/audit.py) is read only: it has no write scope.
SCOPES = (
    *(f"{resource}:{access}" for resource in RESOURCES for access in ("read", "write")),
    "audit:read",
)
#: What each scope lets a token or an app do, in plain words: the consent page of an
#: app asking for it says this (the OAuth 2.0 provider's SCOPES, trailhub/settings.py).
DESCRIPTIONS = {
    "devices:read": "see your devices, their metadata, logs and device tokens",
    "devices:write": "register, claim, change and delete your devices, star and fork devices",
    "trails:read": "see your devices' revisions, their states and progress, and export them",
    "trails:write": "post new revisions to your devices and report or merge their progress",
    "objects:read": "see and download the objects (files) you uploaded",
    "objects:write": "upload objects and delete the ones no revision uses",
    "packs:read": "see your packs and their rollouts",
    "packs:write": "create, change and delete your packs and start, abort or revert rollouts",
    "audit:read": "read your audit log: who changed what in your account, and from where",
}
#: What an app may do when it asks for no scope: read, never write, and not the audit log.
DEFAULT = tuple(f"{resource}:read" for resource in RESOURCES)

#: The resource each path prefix belongs to.
_PREFIXES = {
    "devices": "devices",
    "logs": "devices",
    "community": "devices",
    "trails": "trails",
    "exports": "trails",
    "objects": "objects",
    "packs": "packs",
    "audit": "audit",
}
#: What any scoped token may ask, whatever its scopes: who it acts for.
_ALWAYS = {("GET", "auth/auth_status")}
_SAFE = {"GET", "HEAD", "OPTIONS"}


def required_scope(method: str, path: str) -> str | None:
    """The scope a request needs, ``""`` if none, None if no scoped token may make it."""
    route = path.strip("/")
    if (method, route) in _ALWAYS:
        return ""
    resource = _PREFIXES.get(route.split("/", 1)[0])
    if resource is None:
        return None
    return f"{resource}:{'read' if method in _SAFE else 'write'}"


def grants(scopes: list[str], needed: str) -> bool:
    """Whether ``scopes`` cover ``needed``; a write scope covers the read of its resource."""
    if needed in scopes:
        return True
    resource, _, access = needed.partition(":")
    return access == "read" and f"{resource}:write" in scopes
