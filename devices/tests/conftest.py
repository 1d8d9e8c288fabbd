"""Helpers for the devices tests: registering, logging devices in, snapshots."""

import pytest

from devices.models import Device


def register(api, body=None, **headers):
    """``POST /devices/`` as whoever ``api`` is; returns the response."""
    return api.post("/devices/", body or {}, format="json", **headers)


def device_token(api, prn: str, secret: str) -> str:
    """Log a device in through ``POST /auth/login`` and return its token."""
    response = api.post("/auth/login", {"username": prn, "password": secret}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


def snapshot(device: Device) -> dict:
    """Every stored field of a device, to assert that a refused request changed nothing."""
    fresh = Device.objects.filter(id=device.id).values().first()
    if fresh is not None:
        fresh.pop("last_seen")  # presence moves on any authenticated device request
    return fresh


@pytest.fixture
def unclaimed(make_device):
    """A device that registered itself and waits to be claimed with ``maple-river-42``."""
    return make_device(None, nick="gentle-finch", challenge="maple-river-42")


@pytest.fixture
def sibling(owner, make_device):
    """Another device of the same owner: it must not touch ``device``'s data."""
    return make_device(owner, nick="sibling")
