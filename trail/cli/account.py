"""Commands about who you are and your devices: login, whoami, claim, device …"""

from __future__ import annotations

import getpass
import json
import sys

from trail import api
from trail.cli import lan
from trail.cli.context import CLIError, Context


async def cmd_login(ctx: Context, args) -> int:
    url = ctx.hub_url(use_workcopy=True)
    if args.token:
        return await _token_login(ctx, url)
    username = args.username
    if not username:
        if not sys.stdin.isatty():
            raise CLIError("give --username when stdin is not a terminal")
        username = input(f"Username at {url}: ").strip()
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass(f"Password for {username} at {url}: ")
    else:
        raise CLIError("stdin is not a terminal: pass the password with --password-stdin")
    if not password:
        raise CLIError("empty password")
    async with ctx.connect(url, anonymous=True) as hub:
        token = await hub.password_login(username, password)
    ctx.save_login(url, username, token)
    ctx.out.print(f"logged in to {url} as {username}")
    return 0


async def _token_login(ctx: Context, url: str) -> int:
    """Keep a scoped token: it is not refreshed, and a 401 asks for a new one."""
    if sys.stdin.isatty():
        token = getpass.getpass(f"Scoped token for {url}: ").strip()
    else:
        token = sys.stdin.readline().strip()
    if not token.startswith("tht_"):
        raise CLIError("a scoped token starts with tht_ (make one on the hub: Account › Tokens)")
    async with ctx.connect(url, anonymous=True) as hub:
        hub.token = token
        claims = await api.whoami(hub)
    nick = str(claims.get("nick", ""))
    ctx.save_login(url, nick, token)
    ctx.out.print(f"logged in to {url} as {nick} with a token scoped to {claims.get('scopes')}")
    return 0


async def cmd_whoami(ctx: Context, args) -> int:
    url = ctx.hub_url()
    if not ctx.login_of(url):
        raise CLIError(f"not logged in to {url}: run `trail login --hub {url}`")
    async with ctx.connect(url) as hub:
        claims = await api.whoami(hub)
    ctx.out.print(f"{claims.get('nick')} ({claims.get('prn')}) at {url}")
    return 0


async def cmd_claim(ctx: Context, args) -> int:
    url = ctx.hub_url()
    challenge = args.challenge
    if challenge is None:  # --scan
        challenge = await lan.challenge_of(ctx, args.device, args.timeout, url)
    async with ctx.connect(url) as hub:
        device = await api.claim_device(hub, args.device, challenge)
    ctx.out.print(f"claimed device {device.get('id', args.device)} ({device.get('nick', '')})")
    return 0


async def cmd_device_list(ctx: Context, args) -> int:
    async with ctx.connect(ctx.hub_url()) as hub:
        devices = await api.list_devices(hub)
        summaries = {s.get("deviceid"): s for s in await api.trail_summaries(hub)}
    if args.json:
        ctx.out.print(json.dumps(devices, indent=2), markup=False)
        return 0
    for device in devices:
        online = "online" if device.get("online") else "offline"
        summary = summaries.get(device["id"])
        where = "no revision yet"
        if summary is not None:
            running = summary.get("running-revision")
            where = f"runs rev {running}" if running is not None else "runs nothing yet"
            if summary.get("progress-revision") not in (None, running):
                where += f", rev {summary['progress-revision']} {summary.get('status', '')}"
        public = "  public" if device.get("public") else ""
        ctx.out.print(
            f"{device['id']}  {device.get('nick', ''):<24} {online:<8} {where}{public}",
            markup=False,
        )
    return 0


async def cmd_device_get(ctx: Context, args) -> int:
    async with ctx.connect(ctx.hub_url()) as hub:
        device = await api.get_device(hub, args.device)
    ctx.out.print(json.dumps(device, indent=2, ensure_ascii=False), markup=False)
    return 0


async def cmd_device_set(ctx: Context, args) -> int:
    meta = {}
    for pair in args.pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CLIError(f"expected key=value, got {pair!r}")
        meta[key] = value
    async with ctx.connect(ctx.hub_url()) as hub:
        result = await api.patch_user_meta(hub, args.device, meta)
    ctx.out.print(json.dumps(result, indent=2, ensure_ascii=False), markup=False)
    return 0


async def cmd_device_logs(ctx: Context, args) -> int:
    async with ctx.connect(ctx.hub_url()) as hub:
        device = await api.get_device(hub, args.device)
        page = await api.get_logs(hub, device["prn"], args.limit)
    entries = page.get("entries", []) if isinstance(page, dict) else page
    for entry in reversed(entries):  # oldest first, as a log reads
        when = (entry.get("time") or entry.get("time-created") or "")[:19].replace("T", " ")
        ctx.out.print(
            f"{when} {entry.get('lvl', ''):<5} {entry.get('src', '')}: {entry.get('msg', '')}",
            markup=False,
        )
    return 0
