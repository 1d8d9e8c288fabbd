"""``trail device scan``, and ``trail claim --scan``: devices heard on the LAN over mDNS."""

from __future__ import annotations

import json

from trail import lan
from trail.cli.context import CLIError, Context


async def _scan(timeout: float) -> list[lan.Heard]:
    try:
        return await lan.scan(timeout)
    except lan.LanError as exc:
        raise CLIError(str(exc)) from exc


async def cmd_device_scan(ctx: Context, args) -> int:
    heard = await _scan(args.timeout)
    if args.json:
        ctx.out.print(json.dumps([h.as_json() for h in heard], indent=2), markup=False)
        return 0
    if not heard:
        ctx.err.print(f"no device heard in {args.timeout:g}s")
        return 0
    header = ("DEVICE", "STATE", "ADDRESS", "HUB")
    rows = [header] + [
        (h.id, "claimed" if h.claimed else "unclaimed", ", ".join(h.addresses), h.hub)
        for h in heard
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        ctx.out.print("  ".join([*cells, row[-1]]).rstrip(), markup=False)
    for h in heard:
        if not h.claimed:
            hub = f" --hub {h.hub}" if h.hub else ""
            ctx.out.print(f"claim {h.id}: trail claim{hub} -c {h.challenge} {h.id}", markup=False)
    return 0


async def challenge_of(ctx: Context, device_id: str, timeout: float, hub_url: str) -> str:
    """The challenge ``device_id`` publishes on the LAN, or a :class:`CLIError`.

    The hub the device names is only compared, never used: anyone on the LAN can
    publish anything, and the claim goes with your login to the hub you chose."""
    for heard in await _scan(timeout):
        if heard.id != device_id:
            continue
        if heard.claimed:
            raise CLIError(f"device {device_id} says on the LAN that it is claimed already")
        if heard.hub and heard.hub.rstrip("/") != hub_url:
            ctx.err.print(f"note: device {device_id} says its hub is {heard.hub}, not {hub_url}")
        return heard.challenge
    raise CLIError(
        f"device {device_id} was not heard on the LAN in {timeout:g}s "
        "(`trail device scan` lists what is heard); give its challenge with -c"
    )
