"""trail-agent uses signed object URLs exactly as Pantavisor does (trail/agent/wire.py)."""

from __future__ import annotations

import pytest

from trail.agent import wire
from trail.client import HubError


def test_a_download_keeps_only_the_host_and_the_path():
    """pantavisor event/event_rest.c:333-375 (pv_event_rest_send_by_url): the request
    line is evhttp_uri_get_path() (line 369) sent to the URL's host; the query is gone."""
    url = "https://hub.example:8443/local-s3/eyJvcCI6ImdldCJ9:1sig?X-Amz-Signature=abc#frag"
    assert wire.download_url(url) == "https://hub.example:8443/local-s3/eyJvcCI6ImdldCJ9:1sig"


def test_a_download_url_without_a_path_asks_for_the_root():
    """event_rest.c:369-371: an empty path becomes "/"."""
    assert wire.download_url("https://hub.example?x=1") == "https://hub.example/"


def test_an_upload_goes_to_the_hub_from_local_s3_on_with_its_query():
    """pantavisor updater.c:298: req->path = strstr(signed_puturl, "/local-s3"), sent to
    PH_CREDS_HOST: whatever host the URL names is ignored, the query is kept."""
    url = "https://bucket.example/x/local-s3/tok:sig?part=1"
    assert (
        wire.upload_url("http://127.0.0.1:8000/", url)
        == "http://127.0.0.1:8000/local-s3/tok:sig?part=1"
    )


def test_an_upload_url_without_local_s3_is_an_error_as_on_a_device():
    """updater.c:298: without "/local-s3" the path is NULL and the upload cannot be made."""
    with pytest.raises(HubError, match="/local-s3"):
        wire.upload_url("http://hub", "https://bucket.example/objects/abc?X-Amz-Signature=1")
