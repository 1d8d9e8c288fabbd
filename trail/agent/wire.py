"""The signed object URLs as Pantavisor uses them, which trail-agent copies.

A hub hands out ``signed-geturl`` and ``signed-puturl``; Pantavisor does not
use them as they are:

* a download sends only the PATH of ``signed-geturl`` to that URL's host: the
  query is dropped (pantavisor event/event_rest.c, ``pv_event_rest_send_by_url``
  takes ``evhttp_uri_get_path``);
* an upload goes to the device's own hub (``PH_CREDS_HOST``), at the part of
  ``signed-puturl`` that starts with ``/local-s3`` (pantavisor updater.c,
  ``trail_put_object``: ``strstr(signed_puturl, "/local-s3")``), query kept.

So a hub that signs in the query, or hands a device a bucket's URL, fails
real devices; trail-agent makes the same requests so that the project's own
end-to-end tests fail the same way.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from trail.client import HubError
from trail.wire import LOCAL_S3


def download_url(signed_geturl: str) -> str:
    """What Pantavisor fetches for ``signed_geturl``: its host and path, nothing more."""
    parts = urlsplit(signed_geturl)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))


def upload_url(hub_url: str, signed_puturl: str) -> str:
    """Where Pantavisor PUTs an object: its hub, at ``signed_puturl`` from ``/local-s3`` on."""
    at = signed_puturl.find(LOCAL_S3)
    if at < 0:
        raise HubError(f"the hub's upload URL has no {LOCAL_S3} path, which Pantavisor needs")
    return hub_url.rstrip("/") + signed_puturl[at:]
