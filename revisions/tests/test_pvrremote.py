"""The .pvrremote discovery documents pvr reads before clone and post."""

from __future__ import annotations

import pytest

from revisions import services

SPEC = "pantavisor-service-system@1"


@pytest.fixture
def trail(owner, device, trail_of):
    trail = trail_of(device, {"#spec": SPEC})
    services.post_step(trail, {"#spec": SPEC, "a.json": 2}, author=owner)
    return trail


def test_it_describes_a_trails_newest_revision(api, owner, device, trail):
    """The reference's document: objects-endpoint under the step, post-fields-opt
    ["rev"] (pantahub-base trails/get-trail-pvr.go 121-138)."""
    answer = api.as_(owner).get(f"/trails/{device.id}/.pvrremote")
    assert answer.status_code == 200
    base = f"http://testserver/trails/{device.id}"
    assert answer.json() == {
        "pvr-spec": "pvr-pantahub-1",
        "json-get-url": f"{base}/steps/1/state",
        "json-key": "state",
        "objects-endpoint": f"{base}/steps/1/objects",
        "post-url": f"{base}/steps",
        "post-fields": ["commit-msg"],
        "post-fields-opt": ["rev"],
        "step-get-url": f"{base}/steps/1",
    }


def test_it_describes_one_revision(api, owner, device, trail):
    answer = api.as_(owner).get(f"/trails/{device.id}/steps/0/.pvrremote/")
    assert answer.json()["json-get-url"].endswith(f"/trails/{device.id}/steps/0/state")
    assert answer.json()["objects-endpoint"].endswith(f"/trails/{device.id}/steps/0/objects")


def test_its_urls_work_for_pvr(api, owner, device, trail, settings):
    settings.ALLOWED_HOSTS = ["hub.example.com"]
    remote = (
        api.as_(owner).get(f"/trails/{device.id}/.pvrremote", HTTP_HOST="hub.example.com").json()
    )
    assert remote["post-url"].startswith("http://hub.example.com/")
    client = api.as_(owner)
    state = client.get(remote["json-get-url"], HTTP_HOST="hub.example.com").json()
    assert state == {"#spec": SPEC, "a.json": 2}
    state["a.json"] = 3
    body = {remote["json-key"]: state, "commit-msg": "from pvr"}
    posted = client.post(remote["post-url"], body, format="json", HTTP_HOST="hub.example.com")
    assert posted.status_code == 200
    assert posted.json()["rev"] == 2


def test_it_hides_a_private_trails_remote(api, outsider, device, trail):
    """Anonymous: 401 with ph-aeps, since pvr's first GET of .pvrremote carries no token
    (pvr main.go 107, libpvr/repolib.go initializeRemote); an outsider: 404."""
    assert api.as_(outsider).get(f"/trails/{device.id}/.pvrremote").status_code == 404
    anonymous = api.as_(None).get(f"/trails/{device.id}/steps/1/.pvrremote")
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"] == (
        'JWT realm="pantahub services", ph-aeps="http://testserver/auth"'
    )


def test_its_urls_take_the_requests_scheme(api, owner, device, trail, settings):
    """Every URL is absolute, with the scheme the request came in by (behind a proxy
    that says https): pvr uses them as they are (libpvr/repolib.go postObjects, getObjects)."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["hub.example.com"]
    remote = (
        api.as_(owner)
        .get(
            f"/trails/{device.id}/.pvrremote",
            HTTP_HOST="hub.example.com",
            HTTP_X_FORWARDED_PROTO="https",
        )
        .json()
    )
    for key in ("json-get-url", "objects-endpoint", "post-url", "step-get-url"):
        assert remote[key].startswith(f"https://hub.example.com/trails/{device.id}/"), key
