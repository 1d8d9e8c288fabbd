"""Devices on the LAN: the mDNS (DNS-SD) service Pantavisor's pv-avahi platform publishes.

A Pantavisor device that runs the pv-avahi platform publishes one ``_ssh._tcp``
service named after its host, on port 8222 (where its pvr-sdk container answers
SSH), with TXT records saying which device it is, how to claim it and which hub it
talks to. ``pvr device scan`` browses ``_ssh._tcp`` and keeps the services that
carry a ``device-id``; a service with a ``challenge`` is unclaimed. ``trail-agent
--mdns`` publishes the same records for each simulated device, and ``trail device
scan`` hears both kinds.

Every value heard is untrusted: :func:`decode_txt` never raises on hostile bytes,
and every string it gives back is printable (control characters, escape sequences
and undecodable bytes become U+FFFD), so a table or JSON of it cannot drive a
terminal.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ifaddr
from zeroconf import (
    Error as ZeroconfError,
)
from zeroconf import (
    InterfaceChoice,
    IPVersion,
    ServiceInfo,
    ServiceStateChange,
    Zeroconf,
)
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

# The records, as pv-avahi writes them into its avahi service file:
# pantavisor/meta-pantavisor recipes-containers/pantavisor/pv-avahi/ssh.service
# (type _ssh._tcp, port 8222, instance named after the host) and pv-avahi-start.sh
# lines 35-56 at 7d1f4b5 (TXT device-id, challenge and pantahub, each only when
# not empty; Pantavisor empties its challenge file once the device is claimed,
# pantavisor/pantavisor pantavisor.c lines 388-392 at 303584a, and writes the
# hub as https://host:port, pantahub/pantahub.c line 598). What a scanner keeps:
# pantacor/pvr libpvr/devlib.go lines 77-86 and 110 (browse _ssh._tcp in local.,
# keep entries with a device-id; no challenge means owned, lines 43-48).
# pv-avahi also adds the subtype _pantavisor._sub._ssh._tcp (pv-avahi-start.sh
# line 46); python-zeroconf registers one type per service, so trail-agent
# publishes the base type only, which is the one pvr and `trail device scan` browse.
SERVICE_TYPE = "_ssh._tcp.local."
PORT = 8222
DEVICE_ID = "device-id"
CHALLENGE = "challenge"
HUB = "pantahub"

#: A TXT string is one length byte and at most 255 bytes (RFC 6763 section 6.1).
TXT_STRING_MAX = 255
#: A DNS label (an instance name, a host name) is at most 63 bytes (RFC 1035 2.3.4).
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,62}")


class LanError(Exception):
    """A record that cannot be published, or mDNS that cannot start."""


def printable(text: str) -> str:
    """``text`` with every character a terminal would act on replaced by U+FFFD."""
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in text)


def encode_txt(records: Mapping[str, str]) -> bytes:
    """The TXT rdata of ``records``: one length-prefixed ``key=value`` string each.

    Refuses (:class:`LanError`) what a scanner could not read back as written: a
    key with ``=`` or outside printable ASCII, a value that is not printable, a
    string over 255 bytes."""
    out = bytearray()
    for key, value in records.items():
        if not key or "=" in key or not (key.isascii() and key.isprintable()):
            raise LanError(f"TXT key {key!r}: printable ASCII without '=' only")
        if not value.isprintable():
            raise LanError(f"TXT {key}: the value holds control characters")
        item = f"{key}={value}".encode()
        if len(item) > TXT_STRING_MAX:
            raise LanError(f"TXT {key}: {len(item)} bytes, more than {TXT_STRING_MAX}")
        out += bytes((len(item),)) + item
    return bytes(out)


def decode_txt(data: bytes) -> dict[str, str]:
    """The ``key=value`` pairs of TXT rdata, as RFC 6763 section 6 reads them.

    Keys are lower-cased (they compare case-insensitively) and the first of a
    repeated key wins; a string without ``=`` (a boolean attribute) or with an empty
    key is skipped; a length byte that runs past the end ends the record. Values
    are UTF-8 with undecodable bytes replaced, then made :func:`printable`."""
    records: dict[str, str] = {}
    at = 0
    while at < len(data):
        size = data[at]
        item = data[at + 1 : at + 1 + size]
        if len(item) < size:
            break
        at += 1 + size
        key, sep, value = item.partition(b"=")
        if not sep or not key:
            continue
        name = printable(key.decode("utf-8", "replace")).lower()
        records.setdefault(name, printable(value.decode("utf-8", "replace")))
    return records


@dataclass(frozen=True)
class Heard:
    """A Pantavisor device (or a ``trail-agent`` one) heard on the LAN."""

    id: str
    challenge: str
    hub: str
    name: str
    host: str
    port: int
    addresses: list[str] = field(default_factory=list)

    @property
    def claimed(self) -> bool:
        return not self.challenge

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "claimed": self.claimed,
            "challenge": self.challenge or None,
            "hub": self.hub or None,
            "addresses": self.addresses,
            "port": self.port,
            "host": self.host,
            "name": self.name,
        }


def heard_from(info: ServiceInfo) -> Heard | None:
    """What ``info`` says, if it is a device (it has a ``device-id``); else None."""
    records = decode_txt(info.text or b"")
    device_id = records.get(DEVICE_ID, "")
    if not device_id:
        return None
    name = info.name[: -len(SERVICE_TYPE) - 1] if info.name.endswith(SERVICE_TYPE) else info.name
    return Heard(
        id=device_id,
        challenge=records.get(CHALLENGE, ""),
        hub=records.get(HUB, ""),
        name=printable(name),
        host=printable(info.server or ""),
        port=info.port or 0,
        addresses=sorted(printable(a) for a in info.parsed_addresses()),
    )


def machine_addresses() -> list[str]:
    """This machine's IPv4 addresses but loopback; loopback when it has no other."""
    found = {
        ip.ip
        for adapter in ifaddr.get_adapters()
        for ip in adapter.ips
        if isinstance(ip.ip, str) and ip.network_prefix != 32
    }
    others = sorted(a for a in found if not ipaddress.ip_address(a).is_loopback)
    return others or sorted(found) or ["127.0.0.1"]


def _zeroconf() -> AsyncZeroconf:
    try:
        return AsyncZeroconf(interfaces=InterfaceChoice.All, ip_version=IPVersion.V4Only)
    except (OSError, ZeroconfError) as exc:
        raise LanError(f"mDNS cannot start: {exc}") from exc


class Announcer:
    """Publishes one service per device on the LAN, for as long as it is open.

    One per process, shared by all its devices. :meth:`publish` registers a
    device's service or updates its records (a claim removes the challenge);
    :meth:`close` says goodbye for all of them, so scanners forget them at once."""

    def __init__(self, addresses: Sequence[str] | None = None) -> None:
        self.addresses = list(addresses) if addresses else machine_addresses()
        self._packed = [socket.inet_aton(a) for a in self.addresses]
        self._zc: AsyncZeroconf | None = None
        self._services: dict[str, ServiceInfo] = {}
        self._lock = asyncio.Lock()

    async def publish(self, device_id: str, hub: str, challenge: str = "") -> bool:
        """Publish ``device_id``'s records; whether anything changed on the LAN."""
        if not _LABEL.fullmatch(device_id):
            raise LanError(f"device id {device_id!r} cannot name an mDNS service")
        records = {DEVICE_ID: device_id, HUB: hub}
        if challenge:
            records[CHALLENGE] = challenge
        text = encode_txt(records)
        async with self._lock:
            old = self._services.get(device_id)
            if old is not None and old.text == text:
                return False
            info = ServiceInfo(
                SERVICE_TYPE,
                f"{device_id}.{SERVICE_TYPE}",
                port=PORT,
                properties=text,
                server=f"{device_id}.local.",
                addresses=self._packed,
            )
            if self._zc is None:
                self._zc = _zeroconf()
            try:
                if old is None:
                    done = await self._zc.async_register_service(info)
                else:
                    done = await self._zc.async_update_service(info)
                await done
            except ZeroconfError as exc:
                raise LanError(f"mDNS: {device_id}: {type(exc).__name__} {exc}") from exc
            self._services[device_id] = info
            return True

    async def close(self) -> None:
        """Send goodbyes for every service and stop."""
        async with self._lock:
            if self._zc is not None:
                await self._zc.async_close()  # unregisters every service first
                self._zc = None
            self._services.clear()


async def scan(timeout: float) -> list[Heard]:
    """Browse ``_ssh._tcp`` for ``timeout`` seconds; the devices heard, by id.

    A device that says goodbye during the scan is left out."""
    zc = _zeroconf()
    names: dict[str, None] = {}

    def changed(
        zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if state_change is ServiceStateChange.Removed:
            names.pop(name, None)
        else:
            names[name] = None

    browser = AsyncServiceBrowser(zc.zeroconf, [SERVICE_TYPE], handlers=[changed])
    try:
        await asyncio.sleep(timeout)
        infos = [AsyncServiceInfo(SERVICE_TYPE, name) for name in names]
        # Usually answered from the cache: responders send SRV, TXT and A with the PTR.
        found = await asyncio.gather(*(info.async_request(zc.zeroconf, 1000) for info in infos))
    finally:
        await browser.async_cancel()
        await zc.async_close()
    heard = [h for info, ok in zip(infos, found, strict=True) if ok and (h := heard_from(info))]
    return sorted(heard, key=lambda h: (h.id, h.name))
