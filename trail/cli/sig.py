"""``trail sig add|ls|update`` and ``trail keygen``: pvr-compatible signatures.

A signature covers the state the working tree holds (HEAD plus changes and
``trail add``-ed files); it is written to ``_sigs/<name>.json`` and marked for
the next ``trail commit``. The format and the checks are in
:mod:`trail.signatures` and docs/signing.md.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import socket
from collections.abc import Awaitable, Callable
from functools import wraps
from pathlib import Path
from typing import Any

from trail.cli.context import CLIError, Context, config_dir
from trail.signatures import Trust, part_match, sign, state_match, verify_state
from trail.signatures.glob import glob_match
from trail.signatures.keys import (
    KeyFileError,
    certificate_pem,
    load_certificates,
    load_private_key,
    load_public_keys,
    new_development_key,
    private_key_pem,
    same_key,
)
from trail.signatures.pvs import SIGS_DIR, Match, PvsError, Signature, is_signature, parse
from trail.tree import json_bytes, write_atomic
from trail.workcopy import WorkCopy

ERRORS = (KeyFileError, PvsError)
Command = Callable[[Context, Any], Awaitable[int]]


def _plain_errors(func: Command) -> Command:
    """A bad key file or signature ends the command with its message, like any CLI error."""

    @wraps(func)
    async def run(ctx: Context, args: Any) -> int:
        try:
            return await func(ctx, args)
        except ERRORS as exc:
            raise CLIError(str(exc)) from None

    return run


#: Where `trail keygen` puts a development key, under the names pvr uses in its
#: config directory (pvslib.go: key.default.pem, x5c.default.pem, cacerts.default.pem).
KEY_FILE, X5C_FILE, CACERTS_FILE = "key.default.pem", "x5c.default.pem", "cacerts.default.pem"


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``sig`` and ``keygen`` to the ``trail`` command table."""
    p = sub.add_parser(
        "sig",
        help="sign parts or the whole state, list and check signatures (pvr-compatible)",
        description="pvs@2 signatures in _sigs/<name>.json, as `pvr sig` writes them.",
        parents=parents,
    )
    ssub = p.add_subparsers(dest="sig_command", metavar="ACTION", required=True)

    signing = argparse.ArgumentParser(add_help=False)
    signing.add_argument(
        "--key", "-k", help="PEM private key (default $TRAIL_SIG_KEY, else `trail keygen`'s)"
    )
    signing.add_argument(
        "--x5c",
        "-x",
        help="PEM certificate chain, leaf first, for the x5c header; `no` for none "
        "(default $TRAIL_SIG_X5C, else `trail keygen`'s)",
    )
    signing.add_argument(
        "--with-payload", action="store_true", help="keep the payload in the signature"
    )

    a = ssub.add_parser(
        "add",
        help="sign a part (--part) or the whole state",
        description="Sign the keys of part NAME (NAME/** and _config/NAME/**, not NAME/src.json) "
        "into _sigs/NAME.json; without --part, the whole state but _sigs/ into _sigs/all.json.",
        parents=[*parents, signing],
    )
    a.set_defaults(func=cmd_add)
    a.add_argument("--part", "-p", help="the part (platform) to sign")
    a.add_argument("--name", help="the signature's name (default: the part, or `all`)")
    a.add_argument(
        "--include", "-i", action="append", metavar="GLOB", help="keys to cover (repeatable)"
    )
    a.add_argument(
        "--exclude", "-e", action="append", metavar="GLOB", help="keys to leave out (repeatable)"
    )
    a.add_argument("--noconfig", action="store_true", help="leave _config/PART/ out")

    u = ssub.add_parser(
        "update",
        help="sign existing signatures again, keeping what each covers",
        description="Sign again each signature NAME (or _sigs/…json glob), all by default.",
        parents=[*parents, signing],
    )
    u.set_defaults(func=cmd_update)
    u.add_argument("names", nargs="*", metavar="NAME")

    ls = ssub.add_parser(
        "ls",
        help="check the signatures and list what they cover",
        description="Check every signature of the working tree's state against the trusted "
        "keys or CA certificates, and list the keys no signature covers.",
        parents=parents,
    )
    ls.set_defaults(func=cmd_ls)
    ls.add_argument("--pubkey", help="PEM public keys to trust (default $TRAIL_SIG_PUBKEY)")
    ls.add_argument(
        "--cacerts",
        help="PEM CA certificates to trust (default $TRAIL_SIG_CACERTS, else `trail keygen`'s)",
    )
    ls.add_argument("--json", action="store_true", help="print the report as JSON")
    ls.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 unless every key is signed by a trusted signer and no signature fails",
    )

    k = sub.add_parser(
        "keygen",
        help="make a development signing key and a self-signed certificate",
        description=f"Write {KEY_FILE}, {X5C_FILE} and {CACERTS_FILE} to DIR "
        "(default $TRAIL_CONFIG_DIR/pvs, where `trail sig` looks for them).",
        parents=parents,
    )
    k.set_defaults(func=cmd_keygen)
    k.add_argument("dir", nargs="?", help="where to write them")
    k.add_argument("--rsa", action="store_true", help="an RSA key (RS256) instead of P-256 (ES256)")
    k.add_argument("--cn", help="the certificate's common name (default: user@host)")
    k.add_argument("--days", type=int, default=365, help="how long it is valid (default 365)")
    k.add_argument("--force", action="store_true", help="replace an existing key")


def _pvs_dir() -> Path:
    return config_dir() / "pvs"


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise CLIError(f"cannot read {what} {path}: {exc.strerror}") from None


def _signer(args: Any) -> tuple[Any, list[Any]]:
    """The private key and certificate chain of --key / --x5c or their defaults."""
    key_path = args.key or os.environ.get("TRAIL_SIG_KEY")
    if not key_path:
        default = _pvs_dir() / KEY_FILE
        if not default.is_file():
            raise CLIError("no signing key: give --key FILE, or run `trail keygen` first")
        key_path = str(default)
    key = load_private_key(_read(key_path, "the key"), key_path)
    x5c = args.x5c or os.environ.get("TRAIL_SIG_X5C")
    if x5c is None and (_pvs_dir() / X5C_FILE).is_file() and not args.key:
        x5c = str(_pvs_dir() / X5C_FILE)
    chain = [] if x5c in (None, "no") else load_certificates(_read(x5c, "the chain"), x5c)
    if chain and not same_key(chain[0].public_key(), key.public_key()):
        raise CLIError(f"the first certificate of {x5c} is not the certificate of key {key_path}")
    return key, chain


def _tree_state(wc: WorkCopy) -> dict[str, Any]:
    state, status = wc.scan_state()
    if status.broken:
        key, why = next(iter(status.broken.items()))
        raise CLIError(f"cannot sign or check the tree: {key}: {why}")
    return state


def _write(ctx: Context, wc: WorkCopy, key: str, document: dict[str, Any]) -> None:
    write_atomic(wc.root / key, json_bytes(document))
    wc.add([wc.root / key])
    ctx.out.print(f"signed {key}; `trail commit` records it")


@_plain_errors
async def cmd_add(ctx: Context, args: Any) -> int:
    wc = ctx.workcopy()
    key, chain = _signer(args)
    if args.part:
        match = part_match(
            args.part,
            include=args.include or ("**",),
            exclude=args.exclude or ("src.json",),
            config=not args.noconfig,
        )
        name = args.name or args.part
    else:
        if args.noconfig:
            raise CLIError("--noconfig goes with --part")
        name = args.name or "all"
        match = state_match(
            name, include=args.include or ("**",), exclude=args.exclude or (f"{SIGS_DIR}/**",)
        )
    state = _tree_state(wc)
    target = f"{SIGS_DIR}/{name}.json"
    if args.part and name != args.part:
        # pvr excludes _sigs/<part>.json; a signature called otherwise must not cover itself.
        match = Match(match.include, (*match.exclude, target))
    document = sign(state, match, key, chain, with_payload=args.with_payload)
    _write(ctx, wc, target, document)
    return 0


@_plain_errors
async def cmd_update(ctx: Context, args: Any) -> int:
    wc = ctx.workcopy()
    key, chain = _signer(args)
    state = _tree_state(wc)
    patterns = [n if n.endswith(".json") else f"{SIGS_DIR}/{n}.json" for n in args.names]
    patterns = patterns or [f"{SIGS_DIR}/*.json"]
    found: list[tuple[str, Signature]] = []
    for skey, value in sorted(state.items()):
        if is_signature(skey, value) and any(glob_match(p, skey) for p in patterns):
            found.append((skey, parse(value)))
    if not found:
        raise CLIError(f"no signature matches {' '.join(patterns)}")
    for skey, old in found:
        document = sign(state, old.match, key, chain, with_payload=args.with_payload)
        state[skey] = document
        _write(ctx, wc, skey, document)
    return 0


def _trust(args: Any) -> Trust:
    pubkey = args.pubkey or os.environ.get("TRAIL_SIG_PUBKEY")
    cacerts = args.cacerts or os.environ.get("TRAIL_SIG_CACERTS")
    if not pubkey and not cacerts and (_pvs_dir() / CACERTS_FILE).is_file():
        cacerts = str(_pvs_dir() / CACERTS_FILE)
    keys = load_public_keys(_read(pubkey, "the public keys"), pubkey) if pubkey else []
    certs = load_certificates(_read(cacerts, "the CA certificates"), cacerts) if cacerts else []
    return Trust(tuple(keys), tuple(certs))


@_plain_errors
async def cmd_ls(ctx: Context, args: Any) -> int:
    wc = ctx.workcopy()
    trust = _trust(args)
    report = verify_state(_tree_state(wc), trust)
    if args.json:
        data = {
            "signatures": [
                {
                    "key": c.key,
                    "status": c.status,
                    "reason": c.reason,
                    "signer": c.signer,
                    "covers": list(c.covers),
                    "changed": list(c.changed),
                }
                for c in report.signatures
            ],
            "uncovered": list(report.uncovered),
        }
        ctx.out.print(json.dumps(data, indent=2, ensure_ascii=False), markup=False)
    else:
        _print_table(ctx, report)
    if args.strict and not report.clean:
        ctx.err.print("trail: sig ls --strict: not every key is signed by a trusted signer")
        return 1
    return 0


def _print_table(ctx: Context, report: Any) -> None:
    if not report.signatures:
        ctx.out.print("no signatures")
    rows = [("SIGNATURE", "STATUS", "SIGNER", "COVERS")]
    for c in report.signatures:
        rows.append((c.key, c.status, c.signer or "-", f"{len(c.covers)} keys"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    if report.signatures:
        for row in rows:
            line = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3]))
            ctx.out.print(f"{line}  {row[3]}", markup=False)
    for c in report.signatures:
        if c.reason:
            ctx.out.print(f"{c.key}: {c.reason}", markup=False)
    if report.uncovered:
        ctx.out.print(f"not covered by any signature that holds ({len(report.uncovered)}):")
        for key in report.uncovered:
            ctx.out.print(f"  {key}", markup=False)
    else:
        ctx.out.print("every key is covered")


@_plain_errors
async def cmd_keygen(ctx: Context, args: Any) -> int:
    where = Path(args.dir).expanduser() if args.dir else _pvs_dir()
    key_path = where / KEY_FILE
    if key_path.exists() and not args.force:
        raise CLIError(f"{key_path} exists; --force replaces it")
    cn = args.cn or f"{getpass.getuser()}@{socket.gethostname()}"
    key, cert = new_development_key("rsa" if args.rsa else "ec", cn, args.days)
    write_atomic(key_path, private_key_pem(key), 0o600)
    write_atomic(where / X5C_FILE, certificate_pem([cert]), 0o644)
    write_atomic(where / CACERTS_FILE, certificate_pem([cert]), 0o644)
    ctx.out.print(f"wrote {key_path} (private: keep it so), {where / X5C_FILE} and")
    ctx.out.print(f"{where / CACERTS_FILE} (the certificate, {cn!r}, trusted by `trail sig ls`)")
    ctx.out.print("for development only: a device or hub trusts it only if you add it")
    return 0
