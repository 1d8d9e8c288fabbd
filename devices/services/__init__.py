"""Device behaviour that spans models or requests.

Lookups that respect visibility (every device endpoint starts with one of the
``get_*_device`` helpers), registration, claiming, metadata writes, factory
auto-assign tokens, and device logs. Views, forms and other apps call these;
they never repeat the rules.
"""

from devices.services.logs import (
    devices_over_log_retention,
    logs_over_retention,
    post_logs,
    trim_device_logs,
)
from devices.services.lookups import (
    device_ref_filter,
    get_device_for_owner_or_itself,
    get_device_itself,
    get_owned_device,
    get_visible_device,
    nick_taken,
    unique_nick,
)
from devices.services.meta import (
    MetaField,
    check_meta,
    write_meta,
)
from devices.services.registration import (
    auto_token_for,
    claim_device,
    create_auto_token,
    delete_device,
    disable_auto_token,
    register_device,
    update_device,
)

__all__ = [
    "MetaField",
    "auto_token_for",
    "check_meta",
    "claim_device",
    "create_auto_token",
    "delete_device",
    "device_ref_filter",
    "devices_over_log_retention",
    "disable_auto_token",
    "get_device_for_owner_or_itself",
    "get_device_itself",
    "get_owned_device",
    "get_visible_device",
    "logs_over_retention",
    "nick_taken",
    "post_logs",
    "register_device",
    "trim_device_logs",
    "unique_nick",
    "update_device",
    "write_meta",
]
