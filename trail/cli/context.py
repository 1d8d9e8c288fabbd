"""What every ``trail`` command shares: where the hub is, who is logged in, the
object cache, the terminal."""

from __future__ import annotations

import getpass
import json
import os
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from trail.client import Hub, HubError, new_http, normalize_url
from trail.objects import ObjectStore
from trail.tree import write_atomic
from trail.workcopy import WorkCopy, WorkCopyError


class CLIError(Exception):
    """A mistake in how a command was called, with what to do instead."""


def config_dir() -> Path:
    """``TRAIL_CONFIG_DIR``, or ``~/.config/trail``."""
    configured = os.environ.get("TRAIL_CONFIG_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".config" / "trail"


def _slug(url: str) -> str:
    """A directory name for a hub URL: ``http://127.0.0.1:8000`` -> ``127.0.0.1_8000``."""
    parsed = httpx.URL(url)
    name = f"{parsed.host}_{parsed.port or (443 if parsed.scheme == 'https' else 80)}"
    return re.sub(r"[^A-Za-z0-9._-]", "_", name + parsed.path.replace("/", "_"))


class Context:
    """Built once per command from its arguments."""

    def __init__(self, args: Any) -> None:
        self.args = args
        self.dir = config_dir()
        # Plain text: no markup, no emoji codes. File names, files and metadata print as
        # they are ("root:x:0:0" is not an emoji, "x[/y].conf" not a closing tag).
        plain = {"highlight": False, "soft_wrap": True, "markup": False, "emoji": False}
        self.out = Console(**plain)
        self.err = Console(stderr=True, **plain)
        self._wc: WorkCopy | None = None

    # --- the working copy and the hub ----------------------------------------

    def workcopy(self) -> WorkCopy:
        if self._wc is None:
            self._wc = WorkCopy.find()
        return self._wc

    def hub_url(self, use_workcopy: bool = True) -> str:
        """``--hub``, else the working copy's hub, else ``TRAIL_HUB``."""
        explicit = getattr(self.args, "hub", None)
        if explicit:
            return normalize_url(explicit)
        if use_workcopy:
            try:
                return normalize_url(self.workcopy().config["hub"])
            except WorkCopyError:
                pass
        if os.environ.get("TRAIL_HUB"):
            return normalize_url(os.environ["TRAIL_HUB"])
        raise CLIError("which hub? give --hub URL or set TRAIL_HUB (e.g. http://127.0.0.1:8000)")

    # --- logins ---------------------------------------------------------------

    def _auth_path(self) -> Path:
        return self.dir / "auth.json"

    def logins(self) -> dict[str, dict[str, str]]:
        try:
            return json.loads(self._auth_path().read_text())["hubs"]
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return {}

    def login_of(self, url: str) -> dict[str, str]:
        return self.logins().get(url, {})

    def save_login(self, url: str, username: str, token: str) -> None:
        """Keep the token (never the password), readable only by the user."""
        logins = self.logins()
        logins[url] = {"username": username, "token": token}
        data = json.dumps({"hubs": logins}, indent=2).encode()
        write_atomic(self._auth_path(), data, 0o600)

    def store(self, url: str) -> ObjectStore:
        """The object cache of the user logged in to ``url`` (objects are cached per user)."""
        username = self.login_of(url).get("username") or "_anonymous"
        return ObjectStore(self.dir / "objects" / _slug(url) / username)

    @asynccontextmanager
    async def connect(self, url: str, anonymous: bool = False) -> AsyncIterator[Hub]:
        """A :class:`Hub` for ``url`` with the saved login; a 401 asks for the
        password again (on a terminal) through the hub's ``ph-aeps`` endpoint."""
        saved = self.login_of(url)

        async def credentials(aeps: str) -> tuple[str, str]:
            username = saved.get("username")
            if str(saved.get("token", "")).startswith("tht_"):
                raise HubError(
                    f"{url} refused your scoped token (expired or revoked):"
                    f" make a new one and run `trail login --token --hub {url}`",
                    401,
                )
            if not (sys.stdin.isatty() and username):
                why = "your login expired" if saved else "you are not logged in"
                raise HubError(f"{why} at {url}: run `trail login --hub {url}`", 401)
            self.err.print(f"Your login at {url} expired; log in again as {username}.")
            password = getpass.getpass(f"Password for {username} at {aeps}: ")
            return username, password

        def on_token(token: str) -> None:
            self.save_login(url, saved.get("username", ""), token)

        async with new_http(max_connections=8) as http:
            hub = Hub(
                url,
                http=http,
                token=None if anonymous else saved.get("token"),
                credentials=None if anonymous else credentials,
                on_token=on_token,
            )
            if hub.token:
                await hub.refresh_if_expiring()
            yield hub
