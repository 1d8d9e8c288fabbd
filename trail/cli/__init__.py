"""``trail``: a pvr-like command line for Trailhub (and any Pantahub-style hub).

Every command answers ``--help``. Errors are one line on stderr and a
non-zero exit: 1 for failures, 2 for a command used wrongly.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from trail import __version__
from trail.cli import account, apps, archive, lan, local, proposals, remote, sig, upstream
from trail.cli.context import CLIError, Context
from trail.client import HubError
from trail.errors import ObjectError
from trail.state import StateError
from trail.workcopy import WorkCopyError

ERRORS = (CLIError, HubError, ObjectError, StateError, WorkCopyError, OSError)


def build_parser() -> argparse.ArgumentParser:
    hub = argparse.ArgumentParser(add_help=False)
    hub.add_argument(
        "--hub",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="the hub (default: the working copy's, else $TRAIL_HUB)",
    )
    parser = argparse.ArgumentParser(
        prog="trail",
        description="Clone, change and post the state of devices on a Trailhub hub.",
        epilog="Run `trail COMMAND --help` for a command's options. "
        "Logins and the object cache live in $TRAIL_CONFIG_DIR (default ~/.config/trail).",
        parents=[hub],
    )
    parser.add_argument("--version", action="version", version=f"trail {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, func, help: str, description: str | None = None):
        p = sub.add_parser(name, help=help, description=description or help, parents=[hub])
        p.set_defaults(func=func)
        return p

    p = command("login", account.cmd_login, "log in to a hub and keep the token")
    p.add_argument("--username", "-u", help="your nick (asked for when not given)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.add_argument(
        "--token",
        action="store_true",
        help="log in with a scoped token (tht_…, made on the hub's Account › Tokens page or"
        " POST /auth/tokens): read from stdin, or asked for on a terminal",
    )

    command("whoami", account.cmd_whoami, "show who you are logged in as")

    p = command(
        "clone",
        remote.cmd_clone,
        "copy a device's state into a new directory",
        "Clone SOURCE: <hub>/trails/<id>, <hub>/u/<nick>/<device>, nick/device or a device id.",
    )
    p.add_argument("source", help="what to clone")
    p.add_argument("dir", nargs="?", help="where (default: the device's nick)")
    p.add_argument("--rev", type=int, help="clone this revision instead of the newest")

    p = command(
        "fork",
        remote.cmd_fork,
        "copy a device's revision into a new device of yours",
        "Fork SOURCE (as for clone: nick/device, a device id or a URL) into a new device of "
        "yours called NICK (default: the source's nick), which no hardware runs yet; with "
        "--into, into one of your devices as its next revision. The objects are linked on "
        "the hub, never copied; the hub keeps where the fork came from.",
    )
    p.add_argument("source", help="the device to fork")
    p.add_argument("nick", nargs="?", help="the new device's nick (default: the source's)")
    p.add_argument("--rev", type=int, help="fork this revision instead of the newest")
    p.add_argument("--into", metavar="DEVICE", help="one of your devices (id, prn or nick)")

    p = command(
        "propose",
        proposals.cmd_propose,
        "propose this working copy's revision to someone else's device",
        "Propose the newest revision of the working copy's device (post your changes first), "
        "or --rev N, to TARGET (OWNER/DEVICE, or its page's URL, on the same hub): a "
        "proposal its owner may merge as a new revision, with you as its author. Prints "
        "the proposal's number and page.",
    )
    p.add_argument("target", help="the device to propose to: OWNER/DEVICE")
    p.add_argument("-m", "--message", required=True, help="the proposal's title")
    p.add_argument("--body", help="why, at length")
    p.add_argument("--rev", type=int, help="propose this revision instead of the newest")

    command("status", local.cmd_status, "show changed, added, removed and untracked files")

    p = command("diff", local.cmd_diff, "show the changes not committed yet")
    p.add_argument(
        "--remote", action="store_true", help="show HEAD against the newest revision instead"
    )

    p = command("add", local.cmd_add, "include new files in the next commit")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")

    p = command("commit", local.cmd_commit, "record the working tree's changes in HEAD")
    p.add_argument("-m", "--message", required=True, help="what changed and why")

    p = command("post", _post, "send HEAD (and missing objects) as a new revision")
    p.add_argument("-m", "--message", help="the revision's message (default: the commits')")
    p.add_argument("--rev", type=int, help="the revision number (default: the next; -1 appends)")
    p.add_argument("--wait", action="store_true", help="follow the device's progress to the end")
    p.add_argument(
        "--timeout", type=float, default=600.0, help="seconds --wait waits (default 600)"
    )

    p = command(
        "checkout",
        remote.cmd_checkout,
        "restore the files of HEAD, or make revision REV HEAD",
        "Without REV, put back the files of HEAD (changes are lost). With REV, make "
        "revision REV HEAD and its files the tree; `trail post` then posts it again "
        "as the newest revision (a rollback).",
    )
    p.add_argument("rev", nargs="?", type=int, help="a revision number")
    p.add_argument("--force", action="store_true", help="throw away changes not posted")

    p = command("reset", local.cmd_reset, "forget `trail add`; --hard also restores the files")
    p.add_argument("--hard", action="store_true", help="put back the files of HEAD too")

    p = command("get", remote.cmd_get, "update to the newest revision from the hub")
    p.add_argument("--rev", type=int, help="this revision instead of the newest")
    p.add_argument("--force", action="store_true", help="throw away changes not posted")

    p = command(
        "pull",
        remote.cmd_pull,
        "merge the newest revision from the hub into HEAD",
        "Fetch the newest revision and merge it into HEAD: what the hub's revision changed "
        "since this working copy last saw it, with what HEAD changed. A key both changed is "
        "a conflict: a text file gets conflict markers, another file keeps yours with the "
        "hub's beside it as FILE.theirs, a .json member keeps yours and `trail status` shows "
        "the three values; `trail resolve PATH` each, commit, then post. Refused, changing "
        "nothing, where the merge would write over changes not committed.",
    )
    p.add_argument(
        "--abort",
        action="store_true",
        help="while its conflicts remain, undo the last pull (HEAD and its files as before)",
    )
    p.add_argument(
        "--upstream",
        action="store_true",
        help="merge the newest revision of the device this one was forked from instead, from"
        " the upstream revision it last took in; `trail post` then sends it as that merge",
    )
    p.set_defaults(func=_pull)

    p = command(
        "resolve",
        local.cmd_resolve,
        "mark conflicts of `trail pull` resolved",
        "Mark the conflicts in PATH resolved once the file holds what it should (refused "
        "while a text file still has conflict markers); a FILE.theirs still there is removed. "
        "Then `trail commit` and `trail post`.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files in conflict (or #spec)")

    p = command("log", remote.cmd_log, "list the trail's revisions, newest first")
    p.add_argument("-n", "--limit", type=int, help="show at most this many")

    p = command("export", archive.cmd_export, "write HEAD and its objects to a tarball")
    p.add_argument("file", help="the tarball (.tar or .tar.gz; - for stdout)")

    p = command("import", archive.cmd_import, "make a tarball's state HEAD and the tree")
    p.add_argument("file", help="a tarball written by `trail export` or `pvr export`")
    p.add_argument("--force", action="store_true", help="throw away changes not posted")

    p = command("claim", account.cmd_claim, "make a registered device yours")
    given = p.add_mutually_exclusive_group(required=True)
    given.add_argument("-c", "--challenge", help="the challenge the device printed")
    given.add_argument(
        "--scan",
        action="store_true",
        help="take the challenge the device publishes on the LAN over mDNS (trail device scan)",
    )
    p.add_argument("--timeout", type=float, default=5.0, help="seconds --scan listens (default 5)")
    p.add_argument("device", help="the device id")

    p = sub.add_parser(
        "device", help="list, show and configure devices", description="Devices.", parents=[hub]
    )
    dsub = p.add_subparsers(dest="device_command", metavar="ACTION", required=True)

    def action(name: str, func, help: str):
        a = dsub.add_parser(name, help=help, description=help, parents=[hub])
        a.set_defaults(func=func)
        return a

    a = action("list", account.cmd_device_list, "list your devices")
    a.add_argument("--json", action="store_true", help="print the hub's JSON")
    a = action("get", account.cmd_device_get, "show a device (id, prn or your nick)")
    a.add_argument("device")
    a = action("set", account.cmd_device_set, "set user-meta keys: key=value …")
    a.add_argument("device")
    a.add_argument("pairs", nargs="+", metavar="KEY=VALUE")
    a = action("logs", account.cmd_device_logs, "show a device's logs")
    a.add_argument("device")
    a.add_argument("-n", "--limit", type=int, default=100, help="how many entries (default 100)")
    a = action("scan", lan.cmd_device_scan, "list the devices heard on the LAN over mDNS")
    a.add_argument("--timeout", type=float, default=3.0, help="seconds to listen (default 3)")
    a.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser(
        "upstream",
        help="the device a fork was forked from: show, merge, follow",
        description="The device DEVICE (default: the working copy's) was forked from: how far"
        " behind it is, merging its newest revisions on the hub, following it. To resolve"
        " conflicts by hand, `trail pull --upstream` in a working copy.",
        parents=[hub],
    )
    p.set_defaults(func=upstream.cmd_show, device=None)
    usub = p.add_subparsers(dest="upstream_command", metavar="ACTION")

    def upstream_action(name: str, func, help: str, **defaults):
        a = usub.add_parser(name, help=help, description=help, parents=[hub])
        a.set_defaults(func=func, **defaults)
        a.add_argument("device", nargs="?", help="a device of yours (default: the working copy's)")
        return a

    upstream_action("show", upstream.cmd_show, "show the upstream and how far behind it is")
    a = upstream_action(
        "merge", upstream.cmd_merge, "let the hub merge an upstream revision (default the newest)"
    )
    a.add_argument("--rev", type=int, help="this upstream revision instead of the newest")
    upstream_action(
        "follow", upstream.cmd_follow, "merge each new upstream revision by itself", follow=True
    )
    upstream_action("unfollow", upstream.cmd_follow, "stop following", follow=False)

    apps.register(sub, parents=[hub])
    sig.register(sub, parents=[hub])
    return parser


async def _pull(ctx: Context, args) -> int:
    """``trail pull``, or with ``--upstream`` (and not ``--abort``) the upstream's merge."""
    if args.upstream and not args.abort:
        return await upstream.cmd_pull_upstream(ctx, args)
    return await remote.cmd_pull(ctx, args)


async def _post(ctx: Context, args) -> int:
    """``trail post``: HEAD as the next revision, or the merge ``pull --upstream`` left."""
    if ctx.workcopy().upstream_merge:
        return await upstream.cmd_post_merge(ctx, args)
    return await remote.cmd_post(ctx, args)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return 2
    ctx = Context(args)
    try:
        return asyncio.run(args.func(ctx, args)) or 0
    except ERRORS as exc:
        # One line, whatever the message holds: scripts read the last line.
        message = " ".join((str(exc) or type(exc).__name__).split("\n"))
        print(f"trail: error: {message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("trail: interrupted", file=sys.stderr)
        return 130
