"""A fork and the device it was forked from: ``trail upstream``, ``trail pull --upstream``,
and ``trail post`` of the merge that pull left.

The hub keeps, for each fork, the upstream revision it last took in (``base-rev``):
``trail upstream`` shows it, lets the hub merge (``merge``) and follow (``follow``);
``trail pull --upstream`` merges upstream's newest revision into the working copy
from that base instead, so that conflicts are resolved by hand as after any pull
(:meth:`trail.workcopy.WorkCopy.apply_pull`), and ``trail post`` then sends the
result to ``POST /trails/<id>/upstream/merge`` with the fork's revision it was
made on, which moves the base.
"""

from __future__ import annotations

from typing import Any

from trail import api
from trail.cli import remote
from trail.cli.context import CLIError, Context
from trail.cli.transfer import Locations, fetch, push
from trail.client import Hub, HubError
from trail.state import state_sha


def _upstream_name(answer: dict[str, Any]) -> str:
    return f"{answer['owner-nick']}/{answer['nick']}"


async def _device(ctx: Context, args, hub: Hub) -> tuple[str, str]:
    """The device the command is about (DEVICE, else the working copy's): id and name."""
    if args.device:
        found = await remote.find_source(hub, remote.parse_source(args.device, ctx))
        return found["id"], f"{found['owner-nick']}/{found['nick']}"
    config = ctx.workcopy().config
    return config["trail-id"], remote.name_of(config)


def _hub_of(ctx: Context, args) -> str:
    return ctx.hub_url(use_workcopy=not args.device)


def _no_upstream(name: str) -> CLIError:
    return CLIError(
        f"{name} follows no device you may see: it is no fork, or the device it was forked"
        " from is gone or private"
    )


async def cmd_show(ctx: Context, args) -> int:
    async with ctx.connect(_hub_of(ctx, args)) as hub:
        trail_id, name = await _device(ctx, args, hub)
        answer = await api.upstream(hub, trail_id)
    if answer["device"] is None:
        raise _no_upstream(name)
    behind = answer["behind"]
    ctx.out.print(
        f"{name} is a fork of {_upstream_name(answer)}: took in rev {answer['base-rev']},"
        f" upstream is at rev {answer['head-rev']}"
        + (f" ({behind} behind)" if behind else " (up to date)")
    )
    ctx.out.print(
        "follows upstream: merges each new revision by itself"
        if answer["follow"]
        else "does not follow upstream: `trail upstream follow` merges each new one by itself"
    )
    if answer["notice"]:
        ctx.out.print(answer["notice"])
    return 0


async def cmd_follow(ctx: Context, args) -> int:
    async with ctx.connect(_hub_of(ctx, args)) as hub:
        trail_id, name = await _device(ctx, args, hub)
        try:
            answer = await api.follow_upstream(hub, trail_id, args.follow)
        except HubError as exc:
            if exc.code == "no-upstream":
                raise _no_upstream(name) from None
            raise
    upstream = _upstream_name(answer)
    if args.follow:
        ctx.out.print(f"{name} follows {upstream}: each revision it runs is merged by itself")
    else:
        ctx.out.print(f"{name} no longer follows {upstream}")
    return 0


async def cmd_merge(ctx: Context, args) -> int:
    """Let the hub merge upstream revision ``--rev`` (default the newest)."""
    async with ctx.connect(_hub_of(ctx, args)) as hub:
        trail_id, name = await _device(ctx, args, hub)
        try:
            answer = await api.merge_upstream(hub, trail_id, -1 if args.rev is None else args.rev)
        except HubError as exc:
            if exc.code == "conflicts":
                raise CLIError(
                    f"{exc}. To keep both sides, merge in a working copy: `trail clone {name}`"
                    " (or `trail get` in yours), then `trail pull --upstream`"
                ) from None
            if exc.code == "no-upstream":
                raise _no_upstream(name) from None
            raise
    merged, step = answer["upstream"], answer["revision"]
    upstream = f"{_upstream_name(merged)} rev {merged['base-rev']}"
    if step is None:
        ctx.out.print(f"{name} held {upstream} already: nothing to post")
    else:
        ctx.out.print(f"merged {upstream} into {name} as its rev {step['rev']}")
    return 0


async def cmd_pull_upstream(ctx: Context, args) -> int:
    """Merge the upstream device's newest revision into HEAD, from the upstream revision
    the fork last took in; ``trail post`` sends the result as the merge."""
    wc = ctx.workcopy()
    wc.refuse_conflicts("pull")
    pending = wc.upstream_merge
    if pending:
        raise CLIError(
            f"the merge of upstream {pending['name']} rev {pending['rev']} is not posted yet:"
            " `trail post` sends it (or `trail get --force` drops it)"
        )
    config = wc.config
    url = ctx.hub_url()
    async with ctx.connect(url) as hub:
        # The merge is posted on the fork's newest revision: HEAD must be made from it.
        await remote.refuse_a_newer_revision(hub, config)
        answer = await api.upstream(hub, config["trail-id"])
        if answer["device"] is None:
            raise _no_upstream(remote.name_of(config))
        upstream, source = _upstream_name(answer), answer["device"]
        base_rev, rev = answer["base-rev"], answer["head-rev"]
        if not answer["behind"]:
            ctx.out.print(f"already up to date with upstream {upstream} rev {base_rev}")
            return 0
        base = remote.checked_state(await api.get_step(hub, source, base_rev))
        theirs = remote.checked_state(await api.get_step(hub, source, rev))
        plan = wc.plan_pull(theirs, base=base)
        store = ctx.store(url)
        await fetch(ctx, hub, store, plan.needed, locations=Locations(hub, source, rev))
        if plan.base_needed:
            locations = Locations(hub, source, base_rev)
            await fetch(ctx, hub, store, plan.base_needed, locations=locations)
    pulled = wc.apply_pull(plan, store, rev, upstream=upstream)
    merged = f"upstream {upstream} rev {rev}"
    if not remote.report_pull(ctx, wc, plan, pulled, merged):
        return 1
    ctx.out.print(f"merged {merged} into HEAD: `trail post` sends the merge")
    return 0


async def cmd_post_merge(ctx: Context, args) -> int:
    """``trail post`` while a ``pull --upstream`` waits: send HEAD as that merge."""
    wc = ctx.workcopy()
    wc.refuse_conflicts("post")
    pending = wc.upstream_merge
    assert pending is not None
    if not wc.status().clean:
        ctx.err.print("note: changes not committed are not posted (see `trail status`)")
    if args.rev is not None:
        raise CLIError("a merge of upstream is posted as the next revision: leave out --rev")
    config, head = wc.config, wc.head
    url = ctx.hub_url()
    async with ctx.connect(url) as hub:
        await push(ctx, hub, ctx.store(url), head, wc.remote)
        try:
            answer = await api.merge_upstream(
                hub,
                config["trail-id"],
                pending["rev"],
                state=head,
                parent_rev=pending["parent-rev"],
            )
        except HubError as exc:
            if exc.code == "moved":
                raise CLIError(
                    f"{exc}: `trail pull --abort` or `trail get --force`, then"
                    " `trail pull --upstream` again"
                ) from None
            raise
        step = answer["revision"]
        new_rev = config["rev"] if step is None else int(step["rev"])
        wc.set_head(head, tip=head)
        wc.update_config(rev=new_rev, latest=new_rev, message="")
        wc.forget_pull()
        name, merged = remote.name_of(config), f"upstream {pending['name']} rev {pending['rev']}"
        if step is None:
            ctx.out.print(f"{name} held {merged} already: nothing posted, the merge is recorded")
            return 0
        ctx.out.print(
            f"posted rev {new_rev} of {name} (state-sha {state_sha(head)[:12]}):"
            f" {step['commit-msg']}"
        )
        if args.wait:
            return await remote.follow_progress(ctx, hub, config["trail-id"], new_rev, args.timeout)
    return 0
