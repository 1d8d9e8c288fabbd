"""The protocol's names, spelt once (trail/wire.py)."""

from trail import wire


def test_prns_are_the_references():
    """pantahub-base: devices are prn:::devices:/<id>, accounts prn:::accounts:/<id>."""
    assert wire.device_prn("6b0763e504336695eccf7100") == "prn:::devices:/6b0763e504336695eccf7100"
    assert wire.account_prn("abc") == "prn:::accounts:/abc"


def test_the_login_endpoint_reads_back_from_the_header_a_401_carries():
    """pvr libpvr/session.go:81 builds the same header; it reads ph-aeps back from it."""
    header = wire.www_authenticate("https://hub.example/auth")
    assert header == 'JWT realm="pantahub services", ph-aeps="https://hub.example/auth"'
    assert wire.aeps_of(header) == "https://hub.example/auth"
    assert wire.aeps_of(header + ', error="insufficient_scope"') == "https://hub.example/auth"
    assert wire.aeps_of('Bearer realm="x"') is None
