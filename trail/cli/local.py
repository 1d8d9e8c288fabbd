"""Commands that work on the working copy alone: status, diff, add, commit, resolve, reset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trail.cli.context import Context
from trail.cli.progress import plural
from trail.cli.remote import MARKS, conflict_lines, name_of, restore_head
from trail.objects import ObjectStore
from trail.state import Change, diff_states, is_object_key
from trail.textdiff import text_diff
from trail.tree import json_bytes


async def cmd_status(ctx: Context, args) -> int:
    wc = ctx.workcopy()
    config = wc.config
    status = wc.status()
    ctx.out.print(f"On rev {config['rev']} of {name_of(config)} at {config['hub']}")
    if wc.unposted():
        pending = len(diff_states(wc.remote, wc.head))
        ctx.out.print(
            f"HEAD differs from the newest rev {config['latest']} in {plural(pending, 'key')}: "
            "`trail post` sends it"
        )
    conflicts = wc.conflicts
    if conflicts:
        ctx.out.print("conflicts (make each file what it should hold, then `trail resolve PATH`):")
        for line in conflict_lines(conflicts):
            ctx.out.print(line)
    for change in status.changes:
        ctx.out.print(f"{MARKS[change.op]} {change.key}")
    for key, why in status.broken.items():
        ctx.out.print(f"! {key}: {why}")
    for key in status.untracked:
        ctx.out.print(f"? {key}")
    if status.clean and not status.untracked and not conflicts:
        ctx.out.print("nothing to commit, working tree clean")
    return 0


async def cmd_diff(ctx: Context, args) -> int:
    """Unified diffs of what changed; text objects as text, others by sha.

    A ``.json`` key is shown as the state holds it (laid out as a checkout
    writes it), so that only its values differ, whatever the file's layout;
    the text goes out as it is (tabs, ``:x:``), not through the console's markup.
    """
    wc = ctx.workcopy()
    store = ctx.store(wc.config["hub"])
    if args.remote:
        old, new = wc.remote, wc.head
        changes = diff_states(old, new)
    else:
        old = wc.head
        new, status = wc.scan_state()
        changes = status.changes

    def new_bytes(key: str) -> bytes | None:
        if args.remote or not is_object_key(key):
            return _value_bytes(key, new, store)
        return (wc.root / key).read_bytes()  # not in the cache before a commit

    for change in changes:
        before = _value_bytes(change.key, old, store) if change.op != "added" else b""
        after = new_bytes(change.key) if change.op != "removed" else b""
        ctx.out.file.write(_render(change, before, after, old, new))
    return 0


def _value_bytes(key: str, state: dict[str, Any], store: ObjectStore) -> bytes | None:
    """A key's content: its file's bytes, or None for an object the cache lacks."""
    if not is_object_key(key):
        return json_bytes(state[key])
    sha = state[key]
    return store.path(sha).read_bytes() if store.has(sha) else None


def _render(change: Change, before, after, old, new) -> str:
    key = change.key
    head = f"--- a/{key}\n+++ b/{key}\n" if change.op == "changed" else ""
    if change.op == "added":
        head = f"--- /dev/null\n+++ b/{key}\n"
    elif change.op == "removed":
        head = f"--- a/{key}\n+++ /dev/null\n"
    lines = text_diff(before, after)
    if lines is None:
        old_sha = old.get(key, "")[:12] if change.op != "added" else "(none)"
        new_sha = new.get(key, "")[:12] if change.op != "removed" else "(none)"
        return f"Binary object {key} {change.op}: {old_sha} -> {new_sha}\n"
    body = "".join(line + "\n" for line in lines)
    return f"diff --trail a/{key} b/{key}\n{head}{body}"


async def cmd_add(ctx: Context, args) -> int:
    wc = ctx.workcopy()
    keys = wc.add([Path(p) for p in args.paths])
    for key in keys:
        ctx.out.print(f"A {key}")
    if not keys:
        ctx.out.print("nothing new to add (files the state has are committed when they change)")
    return 0


async def cmd_commit(ctx: Context, args) -> int:
    wc = ctx.workcopy()
    changes = wc.commit(args.message, ctx.store(wc.config["hub"]))
    for change in changes:
        ctx.out.print(f"{MARKS[change.op]} {change.key}")
    ctx.out.print(f"committed {plural(len(changes), 'change')}; `trail post` sends it to the hub")
    return 0


async def cmd_resolve(ctx: Context, args) -> int:
    wc = ctx.workcopy()
    keys = wc.resolve(args.paths)
    for key in keys:
        ctx.out.print(f"resolved {key}")
    left = len({record.get("key") for record in wc.conflicts})
    if left:
        ctx.out.print(f"{plural(left, 'file')} still in conflict (`trail status`)")
    else:
        ctx.out.print("no conflicts left: `trail commit`, then `trail post`")
    return 0


async def cmd_reset(ctx: Context, args) -> int:
    wc = ctx.workcopy()
    wc.reset()
    if args.hard:
        await restore_head(ctx, wc)
        ctx.out.print("restored the files of HEAD and forgot `trail add`")
    else:
        ctx.out.print("forgot `trail add`")
    return 0
