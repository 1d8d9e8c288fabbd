"""``trail export`` and ``trail import``: a state and its objects in one tarball.

The layout is pvr's: a ``json`` member with the state and ``objects/<sha>``
members with the objects. Import reads only those members (nothing is
extracted by name onto the disk) and verifies every object's sha.
"""

from __future__ import annotations

import io
import re
import sys
import tarfile

from trail.cli.context import CLIError, Context
from trail.cli.remote import refuse_local_changes
from trail.cli.transfer import fetch
from trail.errors import ChecksumError
from trail.state import MAX_DOCUMENT_BYTES, StateError, load_state, required_shas, validate_state
from trail.tree import check_layout, json_bytes

_OBJECT = re.compile(r"(?:\./)?objects/([0-9a-f]{64})")


def _mode(path: str, write: bool) -> str:
    compressed = path.endswith((".gz", ".tgz"))
    if write:
        return "w:gz" if compressed else "w"
    return "r:*"


async def cmd_export(ctx: Context, args) -> int:
    wc = ctx.workcopy()
    url = ctx.hub_url()
    store = ctx.store(url)
    head = wc.head
    if store.missing(required_shas(head)):
        async with ctx.connect(url) as hub:
            await fetch(ctx, hub, store, head)
    target = args.file
    data = json_bytes(head)
    out = sys.stdout.buffer if target == "-" else open(target, "wb")  # noqa: SIM115
    try:
        with tarfile.open(fileobj=out, mode=_mode(target, True)) as tar:
            _add(tar, "json", io.BytesIO(data), len(data))
            for sha in sorted(required_shas(head)):
                path = store.path(sha)
                with open(path, "rb") as f:
                    _add(tar, f"objects/{sha}", f, path.stat().st_size)
    finally:
        if out is not sys.stdout.buffer:
            out.close()
    if target != "-":
        ctx.err.print(
            f"exported rev {wc.config['rev']} with {len(required_shas(head))} objects to {target}"
        )
    return 0


def _add(tar: tarfile.TarFile, name: str, fileobj, size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    tar.addfile(info, fileobj)


async def cmd_import(ctx: Context, args) -> int:
    wc = ctx.workcopy()
    refuse_local_changes(wc, args.force, "import")
    store = ctx.store(ctx.hub_url())
    state = None
    try:
        tar = tarfile.open(args.file, mode=_mode(args.file, False))  # noqa: SIM115
    except (OSError, tarfile.TarError) as exc:
        raise CLIError(f"cannot read {args.file}: {exc}") from None
    with tar:
        for member in tar:
            if not member.isfile():
                continue
            name = member.name.removeprefix("./")
            if name == "json":
                if member.size > MAX_DOCUMENT_BYTES:
                    raise CLIError(f"{args.file}: the json member is too large")
                state = _load(tar.extractfile(member).read(), args.file)
            elif match := _OBJECT.fullmatch(member.name):
                _store_member(tar, member, match.group(1), store, args.file)
    if state is None:
        raise CLIError(f"{args.file} has no json member: not a trail or pvr export")
    missing = store.missing(required_shas(state))
    if missing:
        raise CLIError(f"{args.file} lacks object {missing[0]} that its state names")
    wc.checkout(state, store)
    wc.forget_pull()
    ctx.out.print(f"imported {args.file} as HEAD; `trail status` shows it, `trail post` sends it")
    return 0


def _load(data: bytes, where: str):
    try:
        state = load_state(data)
        validate_state(state)
        check_layout(state)
    except StateError as exc:
        raise CLIError(f"{where}: {exc}") from None
    return state


def _store_member(tar, member, sha: str, store, where: str) -> None:
    """Copy an object member into the store, refusing it unless it hashes to its name."""
    try:
        store.add_stream(tar.extractfile(member), sha, member.size)
    except ChecksumError as exc:
        raise CLIError(f"{where}: objects/{sha} holds other bytes (sha256 {exc.got})") from None
