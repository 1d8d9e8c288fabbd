"""Devices as API callers: their login (prn and secret) and the principal a device
token names. Registered with the kernel's auth in ``DevicesConfig.ready``; a device's
tokens' claims are ``Device.token_claims``."""

from __future__ import annotations

from devices.models import Device
from portal.auth import DevicePrincipal
from portal.ids import is_id
from trail.wire import DEVICE_PRN_PREFIX


class DeviceCaller:
    token_type = "DEVICE"
    prn_prefix = DEVICE_PRN_PREFIX

    def check_credentials(self, login_id: str, secret: str):
        if not is_id(login_id):
            return None
        device = Device.objects.select_related("owner").filter(id=login_id).first()
        if device is None or not device.check_secret(secret):
            return None
        device.mark_seen()
        return device

    def principal(self, caller_id: str) -> DevicePrincipal | None:
        device = Device.objects.select_related("owner").filter(id=caller_id).first()
        if device is None:
            return None
        device.mark_seen()
        return DevicePrincipal(device)
