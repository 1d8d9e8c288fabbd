"""Commands that talk to the hub about a trail: clone, fork, get, pull, checkout, post, log."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from trail import api
from trail.cli.context import CLIError, Context
from trail.cli.progress import plural
from trail.cli.transfer import CONCURRENCY, Locations, fetch, push
from trail.client import Hub, HubError, normalize_url
from trail.merge import json_pointer
from trail.objects import ObjectStore
from trail.state import StateError, object_shas, required_shas, state_sha, validate_state
from trail.status import FINAL, RUNNING_OK
from trail.tree import check_layout, place_object
from trail.workcopy import Pulled, PullPlan, WorkCopy

_ID = re.compile(r"[0-9a-f]{24}")
MARKS = {"changed": "M", "added": "A", "removed": "D"}


@dataclass
class Source:
    """Where ``trail clone`` reads from: a hub and either a trail id or owner/nick."""

    hub: str
    trail_id: str | None = None
    owner: str | None = None
    nick: str | None = None
    rev: int | None = None


def parse_source(text: str, ctx: Context) -> Source:
    """``<hub>/trails/<id>[/steps/<rev>]``, ``<hub>/u/<nick>/<device>``, ``nick/device``
    or a bare device id (with the hub from ``--hub`` or ``TRAIL_HUB``)."""
    if "://" in text:
        url = httpx.URL(text)
        parts = [p for p in url.path.split("/") if p]
        for marker in ("trails", "u"):
            if marker in parts:
                at = parts.index(marker)
                rest = parts[at + 1 :]
                base = "/" + "/".join(parts[:at]) if at else ""
                hub = normalize_url(f"{url.scheme}://{url.netloc.decode()}{base}")
                if marker == "trails" and rest and _ID.fullmatch(rest[0]):
                    rev = int(rest[2]) if len(rest) >= 3 and rest[1] == "steps" else None
                    return Source(hub, trail_id=rest[0], rev=rev)
                if marker == "u" and len(rest) >= 2:
                    return Source(hub, owner=rest[0], nick=rest[1])
        raise CLIError(
            f"cannot clone {text!r}: expected <hub>/trails/<id> or <hub>/u/<nick>/<device>"
        )
    hub = ctx.hub_url(use_workcopy=False)
    if _ID.fullmatch(text):
        return Source(hub, trail_id=text)
    parts = text.strip("/").split("/")
    if len(parts) == 2 and all(parts):
        return Source(hub, owner=parts[0], nick=parts[1])
    raise CLIError(f"cannot clone {text!r}: expected a URL, nick/device or a device id")


def checked_state(step: dict[str, Any]) -> dict[str, Any]:
    """The state of a step, refused if it could not be a working tree."""
    state = step.get("state")
    try:
        validate_state(state)
        check_layout(state)
    except StateError as exc:
        raise CLIError(f"revision {step.get('rev')} has a state trail cannot use: {exc}") from None
    return state


async def find_source(hub: Hub, source: Source) -> dict[str, Any]:
    """The device ``source`` names, as the hub answers it to the caller."""
    if source.trail_id is None:
        return await api.find_device(hub, source.owner or "", source.nick or "")
    return await api.get_device(hub, source.trail_id)


async def cmd_clone(ctx: Context, args) -> int:
    source = parse_source(args.source, ctx)
    async with ctx.connect(source.hub) as hub:
        device = await find_source(hub, source)
        trail_id = device["id"]
        tip = await api.latest_step(hub, trail_id)
        rev = args.rev if args.rev is not None else source.rev
        step = tip if rev is None or rev == tip["rev"] else await api.get_step(hub, trail_id, rev)
        state = checked_state(step)
        dest = Path(args.dir or device.get("nick") or trail_id)
        if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
            raise CLIError(f"{dest} already exists and is not an empty directory")
        store = ctx.store(source.hub)
        placed = await _download_into(ctx, hub, store, state, dest, trail_id, step["rev"])
    config = {
        "hub": source.hub,
        "trail-id": trail_id,
        "device-nick": device.get("nick", ""),
        "owner-nick": device.get("owner-nick", ""),
        "rev": step["rev"],
        "latest": tip["rev"],
        "message": "",
    }
    WorkCopy.create(dest, config, state, store, tip=tip["state"], placed=placed)
    ctx.out.print(f"cloned {name_of(config)} rev {step['rev']} into {dest}")
    return 0


async def cmd_fork(ctx: Context, args) -> int:
    if args.nick and args.into:
        raise CLIError("give NICK for a new device or --into for one of yours, not both")
    source = parse_source(args.source, ctx)
    async with ctx.connect(source.hub) as hub:
        device = await find_source(hub, source)
        # A new device is called as the one it comes from, unless told otherwise.
        nick = None if args.into else args.nick or device["nick"]
        rev = args.rev if args.rev is not None else source.rev
        try:
            answer = await api.fork_device(hub, device["id"], nick=nick, rev=rev, into=args.into)
        except HubError as exc:
            if exc.code == "nick-taken":
                raise CLIError(f"{exc}: `trail fork {args.source} NICK` names the fork") from None
            raise
    made, step, origin = answer["device"], answer["revision"], answer["forked-from"]
    name = f"{made['owner-nick']}/{made['nick']}"
    ctx.out.print(
        f"forked {origin['owner-nick']}/{origin['nick']} rev {origin['rev']} into {name}"
        f" as its rev {step['rev']}"
    )
    if args.into is None:
        ctx.out.print(
            f"{name} runs on no hardware yet; `trail clone {name}` to change it, "
            "`trail post` to send your changes"
        )
    return 0


async def _download_into(
    ctx: Context,
    hub: Hub,
    store: ObjectStore,
    state: dict[str, Any],
    dest: Path,
    trail_id: str,
    rev: int,
) -> list[str]:
    """Fetch the objects of a clone, copying each into the new tree ``dest`` as
    soon as it is in the cache (in a thread, while the others download);
    return the keys written. If the clone fails, ``dest`` is left as empty as
    it was, so that trying again is allowed."""
    keys = object_shas(state)
    placed: list[str] = []
    loop = asyncio.get_running_loop()
    existed = dest.exists()
    try:
        # Leaving the pool waits for the copies in flight, even on Ctrl-C, so
        # that none lands in ``dest`` after it was emptied.
        with ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="place") as pool:

            async def place(sha: str) -> None:
                await loop.run_in_executor(pool, place_object, dest, store, sha, keys[sha])
                placed.extend(keys[sha])

            locations = Locations(hub, trail_id, rev)
            await fetch(ctx, hub, store, state, locations=locations, stored=place)
    except BaseException:
        _empty(dest, remove=not existed)
        raise
    return placed


def _empty(folder: Path, remove: bool) -> None:
    """Remove what a failed clone wrote into ``folder`` (and ``folder`` when it made it)."""
    if not folder.is_dir():
        return
    if remove:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


async def cmd_get(ctx: Context, args) -> int:
    wc = ctx.workcopy()
    refuse_local_changes(wc, args.force, "get")
    url = ctx.hub_url()
    async with ctx.connect(url) as hub:
        tip = await api.latest_step(hub, wc.config["trail-id"])
        step = tip if args.rev is None else await api.get_step(hub, wc.config["trail-id"], args.rev)
        state = checked_state(step)
        store = ctx.store(url)
        locations = Locations(hub, wc.config["trail-id"], step["rev"])
        await fetch(ctx, hub, store, state, locations=locations)
    wc.checkout(state, store, tip=tip["state"])
    wc.forget_pull()
    wc.update_config(rev=step["rev"], latest=tip["rev"], message="")
    ctx.out.print(f"{name_of(wc.config)} is at rev {step['rev']} (newest: {tip['rev']})")
    return 0


async def cmd_pull(ctx: Context, args) -> int:
    """Merge the newest revision into HEAD (see :meth:`WorkCopy.plan_pull`)."""
    wc = ctx.workcopy()
    if args.abort:
        wc.abort_pull(ctx.store(ctx.hub_url()))
        ctx.out.print(
            f"aborted the pull: HEAD and its files are as they were, at rev {wc.config['rev']}"
        )
        return 0
    wc.refuse_conflicts("pull")
    config = wc.config
    url = ctx.hub_url()
    async with ctx.connect(url) as hub:
        tip = await api.latest_step(hub, config["trail-id"])
        theirs = checked_state(tip)
        rev = int(tip["rev"])
        if state_sha(theirs) == state_sha(wc.remote):
            wc.update_config(latest=rev)
            ctx.out.print(f"already up to date with rev {rev} of {name_of(config)}")
            return 0
        plan = wc.plan_pull(theirs)
        store = ctx.store(url)
        # Only what the merge writes: the objects of the keys that take the hub's version.
        locations = Locations(hub, config["trail-id"], rev)
        await fetch(ctx, hub, store, plan.needed, locations=locations)
        if plan.base_needed:  # the base of the files both changed, to merge their lines
            locations = Locations(hub, config["trail-id"], config["latest"])
            await fetch(ctx, hub, store, plan.base_needed, locations=locations)
    pulled = wc.apply_pull(plan, store, rev)
    merged = f"rev {rev} of {name_of(config)}"
    if not report_pull(ctx, wc, plan, pulled, merged):
        return 1
    if wc.unposted():
        ctx.out.print(f"merged {merged} into HEAD: `trail post` sends the merge as rev {rev + 1}")
    else:
        ctx.out.print(f"{name_of(config)} is at rev {rev}, the newest")
    return 0


def report_pull(ctx: Context, wc: WorkCopy, plan: PullPlan, pulled: Pulled, merged: str) -> bool:
    """Print the files a pull of ``merged`` wrote and its conflicts; whether it was clean."""
    changed = {change.key: change.op for change in plan.changes}
    changed.update(dict.fromkeys(pulled.merged, "changed"))
    for key in sorted(changed):
        ctx.out.print(f"{MARKS[changed[key]]} {key}")
    conflicts = wc.conflicts
    if not conflicts:
        return True
    for line in conflict_lines(conflicts):
        ctx.out.print(line)
    ctx.err.print(
        f"merged {merged} with {plural(len(conflicts), 'conflict')}"
        f" ({len(pulled.marked)} with conflict markers, {len(pulled.beside)} beside as"
        " .theirs): make each file what it should hold, `trail resolve PATH`, `trail commit`,"
        " then `trail post`"
    )
    return False


def conflict_lines(conflicts: list[dict[str, Any]]) -> list[str]:
    """How ``trail pull`` and ``trail status`` show the conflicts of a pull."""
    lines = []
    for record in conflicts:
        key, kind = str(record.get("key")), record.get("kind")
        if kind == "text":
            lines.append(f"C {key}  (both changed it: conflict markers in the file)")
            continue
        if kind == "beside":
            lines.append(f"C {key}  (both changed it: ours kept, the hub's in {record['beside']})")
            continue
        sides = ", ".join(
            f"{side} {_short(record[side])}" if side in record else f"{side} absent"
            for side in ("base", "ours", "theirs")
        )
        path = str(record.get("path"))
        where = "" if path == json_pointer((key,)) else f" at {_printable(path)}"
        lines.append(f"C {key}{where}  ({sides}; ours kept)")
    return lines


def _printable(text: str) -> str:
    """``text`` with what a terminal would act on (ESC, bidi controls) written as escapes:
    a member name in a state from the hub is anyone's."""
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


def _short(value: Any, limit: int = 60) -> str:
    text = _printable(json.dumps(value, ensure_ascii=False, sort_keys=True))
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def cmd_checkout(ctx: Context, args) -> int:
    if args.rev is not None:
        return await cmd_get(ctx, args)
    await restore_head(ctx, ctx.workcopy())
    ctx.out.print(f"restored the files of HEAD (rev {ctx.workcopy().config['rev']})")
    return 0


async def restore_head(ctx: Context, wc: WorkCopy) -> None:
    """Put HEAD's files back, fetching first any object the cache lost."""
    url = ctx.hub_url()
    store = ctx.store(url)
    head = wc.head
    if store.missing(required_shas(head)):
        async with ctx.connect(url) as hub:
            # Most of HEAD's objects are usually those of the revision it came from.
            locations = Locations(hub, wc.config["trail-id"], wc.config["rev"])
            await fetch(ctx, hub, store, head, locations=locations)
    wc.checkout(head, store)


async def cmd_post(ctx: Context, args) -> int:
    wc = ctx.workcopy()
    config = wc.config
    wc.refuse_conflicts("post")
    status = wc.status()
    if not status.clean:
        ctx.err.print("note: changes not committed are not posted (see `trail status`)")
    if not wc.unposted() and args.rev is None:
        ctx.out.print(f"nothing to post: the hub has this state as rev {config['rev']}")
        return 0
    head = wc.head
    message = args.message or config.get("message") or "posted with trail"
    rev = args.rev if args.rev is not None else config["latest"] + 1
    url = ctx.hub_url()
    async with ctx.connect(url) as hub:
        await refuse_a_device_not_yours(hub, url, config["trail-id"])
        if args.rev is None:  # before a single upload: has someone posted meanwhile?
            await refuse_a_newer_revision(hub, config)
        await push(ctx, hub, ctx.store(url), head, wc.remote)
        try:
            step = await api.post_step(hub, config["trail-id"], rev, head, message)
        except HubError as exc:
            if exc.code == "rev-exists":  # posted between the look above and this post
                await refuse_a_newer_revision(hub, config)
            raise
        new_rev = int(step["rev"])
        wc.set_head(head, tip=head)
        wc.update_config(rev=new_rev, latest=new_rev, message="")
        ctx.out.print(
            f"posted rev {new_rev} of {name_of(config)} "
            f"(state-sha {state_sha(head)[:12]}): {message.splitlines()[0]}"
        )
        if args.wait:
            return await follow_progress(ctx, hub, config["trail-id"], new_rev, args.timeout)
    return 0


async def refuse_a_newer_revision(hub: Hub, config: dict[str, Any]) -> None:
    """Refuse to post over a revision this working copy has not merged: the hub
    numbers revisions in order and answers 409 ``rev-exists`` to a number taken
    (revisions/services/steps.py, post_step), but even ``--rev -1`` would post
    HEAD as if the other revision had never been."""
    tip = await api.latest_step(hub, config["trail-id"])
    if int(tip["rev"]) > int(config["latest"]):
        raise CLIError(
            f"the device has revision {tip['rev']} that this working copy does not have: "
            "run `trail pull`, then post (nothing was posted; `trail post --rev -1` "
            "posts HEAD over it anyway)"
        )


async def refuse_a_device_not_yours(hub: Hub, url: str, trail_id: str) -> None:
    """Only the device's owner, or the device itself, may post to its trail (the hub
    answers 403 otherwise): say so before a single object is uploaded for nothing."""
    me = await api.whoami(hub)
    device = await api.get_device(hub, trail_id)
    if me.get("prn") in (device.get("owner"), device.get("prn")):
        return
    owner, nick = device.get("owner-nick"), device.get("nick") or trail_id
    if not owner:
        raise CLIError(
            f"device {nick} has no owner yet, and only its owner may post to it: claim it "
            "first (`trail claim`); nothing was uploaded"
        )
    page = f"{url}/u/{quote(owner)}/{quote(nick)}/"
    raise CLIError(
        f"{owner}/{nick} is {owner}'s device: only {owner} (or the device itself) may post "
        f"to it, so nothing was uploaded. To post your own version, fork it: `trail fork "
        f"{owner}/{nick}` (or log in on {page} and press Fork), which copies its newest "
        "revision into a device of yours; then `trail clone` that device and post your "
        "changes there"
    )


async def follow_progress(ctx: Context, hub: Hub, trail_id: str, rev: int, timeout: float) -> int:
    """Follow a revision's progress until it is final; non-zero unless it succeeded."""
    deadline = time.monotonic() + timeout
    seen = None
    while True:
        step = await api.get_step(hub, trail_id, rev)
        status = api.step_status(step)
        progress = step.get("progress") or {}
        line = (
            f"rev {rev}: {status} {progress.get('progress', '')}% {progress.get('status-msg', '')}"
        )
        if line != seen:
            ctx.out.print(line.rstrip())
            seen = line
        if status in FINAL:
            return 0 if status in RUNNING_OK else 1
        if time.monotonic() > deadline:
            raise CLIError(f"rev {rev} is still {status} after {timeout:.0f}s")
        await asyncio.sleep(1.0)


async def cmd_log(ctx: Context, args) -> int:
    wc = ctx.workcopy()
    async with ctx.connect(ctx.hub_url()) as hub:
        steps = await api.all_steps(hub, wc.config["trail-id"])
    steps.sort(key=lambda s: s["rev"], reverse=True)
    here = wc.config.get("rev")
    for step in steps[: args.limit] if args.limit else steps:
        mark = "*" if step["rev"] == here else " "
        message = (step.get("commit-msg") or "").splitlines()[:1]
        when = (step.get("time-created") or step.get("step-time") or "")[:19].replace("T", " ")
        ctx.out.print(
            f"{mark} rev {step['rev']:<4} {api.step_status(step):<11} {when}  "
            f"{(step.get('state-sha') or '')[:12]}  {message[0] if message else ''}"
        )
    return 0


def refuse_local_changes(wc: WorkCopy, force: bool, verb: str) -> None:
    if force:
        return
    if wc.conflicts:
        raise CLIError(
            f"the last pull left conflicts (`trail status`): resolve them, undo the pull "
            f"with `trail pull --abort`, or `trail {verb} --force` to throw the merge away"
        )
    if not wc.status().clean:
        raise CLIError(
            f"you have changes that are not committed; commit and post them, or "
            f"`trail {verb} --force` to throw them away"
        )
    if wc.unposted():
        raise CLIError(
            f"you have commits that are not posted; `trail post` them, or "
            f"`trail {verb} --force` to throw them away"
        )


def name_of(config: dict[str, Any]) -> str:
    """``owner/nick`` of the working copy's device, or its id when a nick is unknown."""
    owner, nick = config.get("owner-nick"), config.get("device-nick")
    return f"{owner}/{nick}" if owner and nick else str(config.get("trail-id"))
