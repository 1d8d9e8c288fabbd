"""``trail-agent``: one or many simulated Pantavisor devices against a hub."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import os
import signal
import sys
from functools import cache
from pathlib import Path

from trail import __version__
from trail.agent.device import SimDevice
from trail.agent.factory import Factory
from trail.agent.home import Home
from trail.client import HubError, new_http, normalize_url
from trail.lan import Announcer
from trail.objects import ObjectStore
from trail.state import StateError


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _positive(kind):
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError("must be more than 0")
        return value

    return parse


def _ipv4(text: str) -> str:
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IPv4 address: {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trail-agent",
        description="Run simulated Pantavisor devices against a hub: register, wait to be "
        "claimed, post the factory state, then poll for revisions, install and try-boot "
        "them, and report every status (rolling back when a try-boot fails).",
        epilog='A revision whose state has "trail-agent/health.json": {"fail": true} fails '
        "its try-boot. See docs/agent.md.",
    )
    parser.add_argument(
        "--hub", default=os.environ.get("TRAIL_HUB"), help="the hub URL (default: $TRAIL_HUB)"
    )
    parser.add_argument(
        "--home", required=True, type=Path, help="the device's directory (with --count: the parent)"
    )
    parser.add_argument(
        "--factory",
        type=Path,
        help="a directory of files to post as revision 0 (default: built in)",
    )
    parser.add_argument(
        "--auto-token", metavar="TOKEN", help="a factory token: the device is owned at birth"
    )
    parser.add_argument(
        "--count", type=_positive(int), default=1, help="how many devices to run (default 1)"
    )
    parser.add_argument(
        "--fail-share",
        type=_share,
        default=0.0,
        metavar="F",
        help="share of revisions (0-1) whose try-boot fails (default 0)",
    )
    parser.add_argument(
        "--poll-interval",
        type=_positive(float),
        default=5.0,
        metavar="S",
        help="seconds between polls for new revisions (default 5)",
    )
    parser.add_argument(
        "--listen",
        action="store_true",
        help="also hold the hub's device WebSocket (/ws/device/) to hear of new revisions "
        "at once; polling goes on as a fallback",
    )
    parser.add_argument(
        "--mdns",
        action="store_true",
        help="publish each device on the LAN over mDNS as Pantavisor's pv-avahi does "
        "(service _ssh._tcp with TXT device-id, challenge while unclaimed, pantahub), "
        "for `trail device scan`",
    )
    parser.add_argument(
        "--mdns-address",
        action="append",
        type=_ipv4,
        metavar="ADDR",
        help="with --mdns, the IPv4 address to publish (repeat for more; default: this "
        "machine's, loopback only when it has no other)",
    )
    parser.add_argument(
        "--meta-interval",
        type=_positive(float),
        default=60.0,
        metavar="S",
        help="seconds between device-meta pushes and user-meta reads (default 60)",
    )
    parser.add_argument(
        "--max-connections",
        type=_positive(int),
        default=8,
        help="HTTP connections shared by all devices (default 8; each costs CPU on every "
        "request, and a few carry thousands of polls a second)",
    )
    parser.add_argument("--version", action="version", version=f"trail-agent {__version__}")
    return parser


def homes_of(root: Path, count: int) -> list[Path]:
    """``root`` itself for one device; ``root/device-0001`` … for several."""
    if count == 1:
        return [root]
    width = max(4, len(str(count)))
    return [root / f"device-{i:0{width}d}" for i in range(1, count + 1)]


async def run(args: argparse.Namespace) -> None:
    hub = normalize_url(args.hub or "")
    homes = homes_of(args.home, args.count)

    @cache
    def factory() -> Factory:
        # Built on first use, once per process; every device links its objects.
        seed = Home(homes[0]).store if args.count == 1 else ObjectStore(args.home / ".factory")
        return Factory.build(seed, args.factory)

    factory()  # a bad --factory directory is an error before any device registers
    connections = min(args.max_connections, args.count)
    gate = asyncio.Semaphore(connections)
    lan = Announcer(args.mdns_address) if args.mdns else None
    try:
        async with new_http(max_connections=connections) as http:
            devices = [
                SimDevice(
                    Home(path),
                    hub,
                    http,
                    factory,
                    gate=gate,
                    listen=args.listen,
                    lan=lan,
                    auto_token=args.auto_token,
                    poll_interval=args.poll_interval,
                    fail_share=args.fail_share,
                    meta_interval=args.meta_interval,
                    label="" if args.count == 1 else f"[{path.name}] ",
                    quiet=args.count > 20,
                )
                for path in homes
            ]
            if args.count > 1:
                print(f"running {args.count} devices under {args.home}", flush=True)
            await asyncio.gather(*(device.run() for device in devices))
    finally:
        if lan is not None:
            await lan.close()  # goodbyes: scanners forget the devices at once


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        asyncio.run(_main(args))
    except (HubError, StateError, OSError) as exc:
        print(f"trail-agent: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


async def _main(args: argparse.Namespace) -> None:
    """Run until SIGINT or SIGTERM; progress is on disk, so stopping is always safe."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await run(args)
