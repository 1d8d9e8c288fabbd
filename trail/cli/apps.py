"""``trail app add/update/ls/info/rm``: the CLI around :mod:`trail.apps.commands`.

The ``cmd_*`` coroutines parse nothing themselves: :func:`register` adds their
options to the ``trail`` parser, and each one calls the function of
:mod:`trail.apps.commands` that does the work and prints what it did.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from typing import Any

from trail.apps.commands import PullOptions, add, info, listing, remove, update
from trail.apps.errors import AppError
from trail.apps.progress import RichReporter
from trail.cli.context import CLIError


def register(subparsers: Any, parents: list[argparse.ArgumentParser] | None = None) -> None:
    """Add ``trail app …`` to the ``trail`` parser's subcommands."""
    parents = parents or []
    parser = subparsers.add_parser(
        "app",
        help="add, update, list, show and remove platforms made from container images",
        description="Platforms from container images (OCI layout directories, docker save "
        "tarballs, registry references). See docs/apps.md.",
        parents=parents,
    )
    actions = parser.add_subparsers(dest="app_command", metavar="ACTION", required=True)

    pull = argparse.ArgumentParser(add_help=False)
    pull.add_argument(
        "--platform", metavar="OS/ARCH[/VARIANT]", help="which image of a multi-platform one"
    )
    pull.add_argument(
        "--insecure",
        action="store_true",
        help="pull over plain HTTP (only from a registry on this machine)",
    )
    pull.add_argument(
        "--insecure-remote",
        action="store_true",
        help="allow --insecure for a registry on another host too",
    )
    pull.add_argument(
        "--username",
        help="registry user name (the password comes from $TRAIL_REGISTRY_PASSWORD or a prompt)",
    )

    def action(name: str, func: Any, help: str, extra: list | None = None) -> Any:
        sub = actions.add_parser(
            name, help=help, description=help, parents=[*parents, *(extra or [])]
        )
        sub.set_defaults(func=func)
        return sub

    sub = action("add", cmd_add, "make a new platform from an image", [pull])
    sub.add_argument("name", help="the platform's name (its directory)")
    sub.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="IMAGE",
        help="an OCI layout directory, a docker save tarball, or host:port/repo:tag",
    )
    sub = action("update", cmd_update, "pull a platform's image again", [pull])
    sub.add_argument("name")
    sub.add_argument("--from", dest="source", metavar="IMAGE", help="switch to this image")
    sub = action("ls", cmd_ls, "list the platforms and their images")
    sub.add_argument("--json", action="store_true", help="print JSON")
    sub = action("info", cmd_info, "show a platform's image, config and files")
    sub.add_argument("name")
    sub.add_argument("--json", action="store_true", help="print JSON")
    sub = action("rm", cmd_rm, "remove a platform and its _config/<name>/")
    sub.add_argument("name")


def _options(ctx: Any, args: Any) -> PullOptions:
    password = None
    if args.username:
        password = os.environ.get("TRAIL_REGISTRY_PASSWORD")
        if password is None:
            if not sys.stdin.isatty():
                raise AppError("auth", "--username needs the password in $TRAIL_REGISTRY_PASSWORD")
            password = getpass.getpass(f"Registry password for {args.username}: ")
    return PullOptions(
        platform=args.platform,
        insecure=args.insecure,
        insecure_remote=args.insecure_remote,
        username=args.username,
        password=password,
        reporter=RichReporter(getattr(ctx, "err", None)),
    )


def _cli_errors(func: Any) -> Any:
    """Show an :class:`AppError` the way ``trail`` shows its own errors."""

    async def wrapper(ctx: Any, args: Any) -> int:
        try:
            return await func(ctx, args)
        except AppError as exc:
            raise CLIError(exc.message) from None

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


@_cli_errors
async def cmd_add(ctx: Any, args: Any) -> int:
    wc = ctx.workcopy()
    outcome = add(wc, args.name, args.source, _options(ctx, args))
    for filename in outcome.written:
        ctx.out.print(f"A {args.name}/{filename}")
    ctx.out.print(f"added platform {args.name}; `trail commit` records it")
    return 0


@_cli_errors
async def cmd_update(ctx: Any, args: Any) -> int:
    wc = ctx.workcopy()
    outcome = update(wc, args.name, _options(ctx, args), args.source)
    for filename in outcome.written:
        ctx.out.print(f"M {args.name}/{filename}")
    if outcome.written:
        ctx.out.print(f"updated platform {args.name}; `trail commit` records it")
    else:
        ctx.out.print(f"{args.name} is up to date ({outcome.image.digest_ref})")
    return 0


@_cli_errors
async def cmd_ls(ctx: Any, args: Any) -> int:
    platforms = listing(ctx.workcopy())
    if args.json:
        ctx.out.print(json.dumps(platforms, indent=2), markup=False)
        return 0
    if not platforms:
        ctx.out.print("no platforms; `trail app add NAME --from IMAGE` makes one")
        return 0
    rows = [("NAME", "IMAGE", "TAG", "DIGEST", "PLATFORM")]
    for p in platforms:
        digest = p["digest"][:19] if p["digest"] else "-"
        rows.append((p["name"], p["image"] or "-", p["tag"] or "-", digest, p["platform"] or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        ctx.out.print(line.rstrip(), markup=False)
    return 0


@_cli_errors
async def cmd_info(ctx: Any, args: Any) -> int:
    details = info(ctx.workcopy(), args.name)
    if args.json:
        ctx.out.print(json.dumps(details, indent=2), markup=False)
        return 0
    show = ctx.out.print
    show(f"name:       {details['name']}", markup=False)
    show(f"image:      {details['image'] or '-'}", markup=False)
    show(f"tag:        {details['tag'] or '-'}", markup=False)
    show(f"digest:     {details['digest'] or '-'}", markup=False)
    show(f"platform:   {details['platform'] or '-'}", markup=False)
    source = details["source"]
    if isinstance(source, dict):
        source = f"{source.get('kind')} {source.get('location')}"
    show(f"source:     {source or '-'}", markup=False)
    if details["entrypoint"]:
        show(f"entrypoint: {json.dumps(details['entrypoint'])}", markup=False)
    if details["cmd"]:
        show(f"cmd:        {json.dumps(details['cmd'])}", markup=False)
    if details["workdir"]:
        show(f"workdir:    {details['workdir']}", markup=False)
    for variable in details["env"]:
        show(f"env:        {variable}", markup=False)
    for volume in details["volumes"]:
        show(f"volume:     {volume}", markup=False)
    for filename, meta in details["files"].items():
        show(f"file:       {filename} {meta['size']} bytes sha256:{meta['sha256']}", markup=False)
    for path in details["config_files"]:
        show(f"config:     {path}", markup=False)
    return 0


@_cli_errors
async def cmd_rm(ctx: Any, args: Any) -> int:
    for path in remove(ctx.workcopy(), args.name):
        ctx.out.print(f"D {path}")
    ctx.out.print(f"removed platform {args.name}; `trail commit` records it")
    return 0
