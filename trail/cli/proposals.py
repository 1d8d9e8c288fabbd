"""``trail propose``: offer the working copy's revision to someone else's device."""

from __future__ import annotations

from trail import api
from trail.cli.context import CLIError, Context
from trail.cli.remote import Source, find_source, name_of, parse_source
from trail.client import HubError


async def cmd_propose(ctx: Context, args) -> int:
    """Propose revision ``--rev`` (default: the newest this working copy knows, which it
    holds when nothing is left to post) of the working copy's device to TARGET."""
    wc = ctx.workcopy()
    config = wc.config
    if args.rev is None and wc.unposted():
        raise CLIError(
            "HEAD has changes the hub does not have: `trail post` them first, then propose"
            " (or give --rev N to propose a revision that is on the hub)"
        )
    rev = args.rev if args.rev is not None else int(config["latest"])
    url = ctx.hub_url()
    async with ctx.connect(url) as hub:
        target = await find_source(hub, _target(ctx, args.target, url))
        try:
            made = await api.propose(
                hub, target["id"], config["trail-id"], rev, args.message, args.body or ""
            )
        except HubError as exc:
            if exc.code == "owner-only":
                raise CLIError(
                    f"{exc}: fork the device (`trail fork`), post your change to the fork,"
                    " and propose from the fork's working copy"
                ) from None
            raise
    where = f"{target['owner-nick']}/{target['nick']}"
    ctx.out.print(f"proposed {name_of(config)} rev {rev} to {where} as proposal #{made['number']}")
    if made.get("conflicts"):
        ctx.out.print(
            f"it conflicts with {where}'s newest revision in {len(made['conflicts'])} place(s):"
            f" {', '.join(c['path'] for c in made['conflicts'])}"
        )
    elif made.get("signatures") and not made["signatures"].get("met"):
        ctx.out.print(f"{where} requires signatures: {made['signatures']['reason']}")
    ctx.out.print(f"{url}/u/{target['owner-nick']}/{target['nick']}/proposals/{made['number']}/")
    return 0


def _target(ctx: Context, text: str, hub: str) -> Source:
    """OWNER/DEVICE on the working copy's hub, or a device page's URL on that hub."""
    if "://" in text:
        source = parse_source(text, ctx)
        if source.hub != hub:
            raise CLIError(f"{text} is not on {hub}, this working copy's hub")
        return source
    parts = text.strip("/").split("/")
    if len(parts) != 2 or not all(parts):
        raise CLIError(f"cannot propose to {text!r}: expected OWNER/DEVICE or its page's URL")
    return Source(hub, owner=parts[0], nick=parts[1])
