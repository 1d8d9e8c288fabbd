"""The mDNS records of devices on the LAN, without a network: encoding, hostile decoding,
and what ``trail device scan`` and ``trail claim --scan`` print of what they hear.

The records are pv-avahi's: pantavisor/meta-pantavisor
recipes-containers/pantavisor/pv-avahi/pv-avahi-start.sh lines 35-56 at 7d1f4b5
(TXT ``device-id``, ``challenge`` only while unclaimed, ``pantahub``), read as
pantacor/pvr libpvr/devlib.go lines 77-86 at 09601ee reads them. The TXT format is
RFC 6763 section 6. The live test (two agents in a network namespace) is
trail/tests/e2e/test_lan.py.
"""

from __future__ import annotations

import asyncio
import json
import socket

import ifaddr
import pytest
from zeroconf import ServiceInfo

from trail import lan
from trail.agent.cli import build_parser as agent_parser
from trail.cli import main

ID = "6b0763e504336695eccf7100"
HOSTILE = b"\x1b[31mred\x1b[0m\n\x07\xff\xfe"


def txt(*items: bytes) -> bytes:
    return b"".join(bytes((len(item),)) + item for item in items)


def info(name: str, text: bytes, addresses=("192.0.2.7",)) -> ServiceInfo:
    return ServiceInfo(
        lan.SERVICE_TYPE,
        f"{name}.{lan.SERVICE_TYPE}",
        port=lan.PORT,
        properties=text,
        server=f"{name}.local.",
        addresses=[socket.inet_aton(a) for a in addresses],
    )


def test_the_records_read_back_as_pv_avahi_writes_them():
    records = {"device-id": ID, "challenge": "kestrel-grove-93", "pantahub": "https://h:443"}
    data = lan.encode_txt(records)
    assert data.startswith(bytes((len("device-id=" + ID),)) + b"device-id=" + ID.encode())
    assert lan.decode_txt(data) == records


def test_a_value_may_be_empty_or_hold_an_equals_sign():
    assert lan.decode_txt(txt(b"challenge=", b"pantahub=http://h/?a=b")) == {
        "challenge": "",
        "pantahub": "http://h/?a=b",
    }


@pytest.mark.parametrize(
    "records, why",
    [
        ({"pantahub": "x" * 247}, "more than 255"),
        ({"a=b": "c"}, "without '='"),
        ({"": "c"}, "without '='"),
        ({"clé": "c"}, "printable ASCII"),
        ({"challenge": "a\nb"}, "control characters"),
        ({"challenge": "\x1b[2J"}, "control characters"),
    ],
)
def test_it_refuses_to_publish_what_could_not_be_read_back(records, why):
    with pytest.raises(lan.LanError, match=why):
        lan.encode_txt(records)


def test_the_longest_string_a_txt_record_holds_is_published():
    value = "x" * (255 - len("pantahub="))
    assert lan.decode_txt(lan.encode_txt({"pantahub": value})) == {"pantahub": value}


def test_hostile_bytes_come_back_printable():
    records = lan.decode_txt(txt(b"device-id=" + HOSTILE, b"\xff\x1b=\x00x"))
    assert records["device-id"] == "\ufffd[31mred\ufffd[0m\ufffd\ufffd\ufffd\ufffd"
    assert records["\ufffd\ufffd"] == "\ufffdx"
    assert all(value.isprintable() for value in records.values())


def test_the_first_of_a_repeated_key_wins_whatever_its_case():
    # RFC 6763 section 6.4: keys compare case-insensitively; all but the first are ignored.
    data = txt(b"Device-ID=first", b"device-id=second", b"CHALLENGE=c")
    assert lan.decode_txt(data) == {"device-id": "first", "challenge": "c"}


def test_strings_without_a_key_or_an_equals_sign_are_skipped():
    assert lan.decode_txt(txt(b"=orphan", b"flag", b"", b"device-id=d")) == {"device-id": "d"}


def test_a_length_past_the_end_ends_the_record():
    data = txt(b"device-id=d") + bytes((200,)) + b"challenge=cut short"
    assert lan.decode_txt(data) == {"device-id": "d"}
    assert lan.decode_txt(b"") == {}
    assert lan.decode_txt(b"\xff") == {}


def test_a_service_with_a_challenge_is_an_unclaimed_device():
    heard = lan.heard_from(
        info("kiosk", lan.encode_txt({"device-id": ID, "challenge": "c-1", "pantahub": "h"}))
    )
    assert heard is not None
    assert (heard.id, heard.claimed, heard.challenge, heard.hub) == (ID, False, "c-1", "h")
    assert (heard.name, heard.host, heard.port, heard.addresses) == (
        "kiosk",
        "kiosk.local.",
        8222,
        ["192.0.2.7"],
    )
    assert heard.as_json()["challenge"] == "c-1"


def test_a_service_without_a_challenge_is_claimed():
    heard = lan.heard_from(info("kiosk", lan.encode_txt({"device-id": ID})))
    assert heard is not None and heard.claimed
    assert heard.as_json() | {"addresses": []} == {
        "id": ID,
        "claimed": True,
        "challenge": None,
        "hub": None,
        "addresses": [],
        "port": 8222,
        "host": "kiosk.local.",
        "name": "kiosk",
    }


def test_a_service_without_a_device_id_is_no_device():
    # Every other _ssh._tcp service on the LAN (a laptop's sshd) has none.
    assert lan.heard_from(info("laptop", b"")) is None
    assert lan.heard_from(info("laptop", txt(b"device-id="))) is None


def test_an_instance_name_with_dots_is_kept_whole():
    heard = lan.heard_from(info("my.dotted.device", txt(b"device-id=d")))
    assert heard is not None and heard.name == "my.dotted.device"


@pytest.fixture
def heard_on_lan(monkeypatch):
    """``trail``'s scans hear these devices instead of the network."""
    devices: list[lan.Heard] = []

    async def scan(timeout: float) -> list[lan.Heard]:
        return devices

    monkeypatch.setattr(lan, "scan", scan)
    monkeypatch.setenv("TRAIL_HUB", "http://hub.test:8000")
    return devices


def hostile_device() -> lan.Heard:
    heard = lan.heard_from(
        info(
            # zeroconf refuses C0 controls in a name; C1 and bidi overrides pass.
            "evil.\u202edevice\x85",
            txt(b"device-id=ab\x1b]0;owned\x07cd", b"challenge=\xffc\r\n", b"pantahub=\x1b[5mh"),
        )
    )
    assert heard is not None
    return heard


def no_control_characters(text: str) -> bool:
    return all(ch.isprintable() or ch == "\n" for ch in text)


def test_the_scan_table_prints_no_control_characters(heard_on_lan, capsys):
    good = lan.heard_from(info("kiosk", lan.encode_txt({"device-id": ID, "pantahub": "h"})))
    heard_on_lan += [good, hostile_device()]
    assert main(["device", "scan", "--timeout", "0"]) == 0
    out = capsys.readouterr().out
    assert no_control_characters(out)
    lines = out.splitlines()
    assert lines[0].split() == ["DEVICE", "STATE", "ADDRESS", "HUB"]
    assert lines[1].split() == [ID, "claimed", "192.0.2.7", "h"]
    assert lines[2].split() == ["ab\ufffd]0;owned\ufffdcd", "unclaimed", "192.0.2.7", "\ufffd[5mh"]
    assert lines[3] == (
        "claim ab\ufffd]0;owned\ufffdcd: trail claim --hub \ufffd[5mh -c \ufffdc\ufffd\ufffd "
        "ab\ufffd]0;owned\ufffdcd"
    )


def test_the_scan_json_holds_no_control_characters(heard_on_lan, capsys):
    heard_on_lan.append(hostile_device())
    assert main(["device", "scan", "--json"]) == 0
    [device] = json.loads(capsys.readouterr().out)
    assert device["claimed"] is False
    assert device["name"] == "evil.\ufffddevice\ufffd"
    assert all(no_control_characters(str(value)) for value in device.values())


def test_a_scan_that_hears_nothing_says_so(heard_on_lan, capsys):
    assert main(["device", "scan", "--timeout", "0.5"]) == 0
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "no device heard in 0.5s\n")
    assert main(["device", "scan", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_claim_scan_needs_the_device_heard_and_unclaimed(heard_on_lan, capsys):
    assert main(["claim", "--scan", "--timeout", "0", ID]) == 1
    assert f"device {ID} was not heard on the LAN in 0s" in capsys.readouterr().err
    heard_on_lan.append(lan.heard_from(info("kiosk", lan.encode_txt({"device-id": ID}))))
    assert main(["claim", "--scan", ID]) == 1
    assert "claimed already" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["claim", ID], ["claim", "-c", "x", "--scan", ID]])
def test_claim_takes_a_challenge_or_scan_not_both(argv, capsys):
    with pytest.raises(SystemExit) as exit:
        main(argv)
    assert exit.value.code == 2
    assert "-c/--challenge" in capsys.readouterr().err


def test_the_agent_publishes_only_on_request_and_only_ipv4(capsys):
    args = agent_parser().parse_args(["--home", "h"])
    assert (args.mdns, args.mdns_address) == (False, None)
    args = agent_parser().parse_args(["--home", "h", "--mdns", "--mdns-address", "10.0.0.9"])
    assert (args.mdns, args.mdns_address) == (True, ["10.0.0.9"])
    with pytest.raises(SystemExit):
        agent_parser().parse_args(["--home", "h", "--mdns-address", "::1"])
    assert "not an IPv4 address" in capsys.readouterr().err


@pytest.mark.parametrize("device_id", ["a.b", "x" * 64, "-lead", "", "a b"])
def test_a_device_id_that_cannot_name_a_service_is_refused_before_any_packet(device_id):
    announcer = lan.Announcer(["127.0.0.1"])
    with pytest.raises(lan.LanError, match="cannot name an mDNS service"):
        asyncio.run(announcer.publish(device_id, "http://h"))
    assert announcer._zc is None


def test_a_hub_url_too_long_for_a_txt_string_is_refused():
    announcer = lan.Announcer(["127.0.0.1"])
    with pytest.raises(lan.LanError, match="more than 255"):
        asyncio.run(announcer.publish(ID, "http://" + "h" * 250))


def test_the_published_address_is_the_machines_not_loopback(monkeypatch):
    def adapters(lo_only: bool):
        lo = ifaddr.Adapter("lo", "lo", [ifaddr.IP("127.0.0.1", 8, "lo")])
        eth = ifaddr.Adapter(
            "eth0",
            "eth0",
            [ifaddr.IP("192.0.2.7", 24, "eth0"), ifaddr.IP(("fe80::1", 0, 2), 64, "eth0")],
        )
        wg = ifaddr.Adapter("wg0", "wg0", [ifaddr.IP("198.51.100.1", 32, "wg0")])
        return [lo] if lo_only else [lo, eth, wg]

    monkeypatch.setattr(ifaddr, "get_adapters", lambda: adapters(False))
    assert lan.machine_addresses() == ["192.0.2.7"]
    monkeypatch.setattr(ifaddr, "get_adapters", lambda: adapters(True))
    assert lan.machine_addresses() == ["127.0.0.1"]
