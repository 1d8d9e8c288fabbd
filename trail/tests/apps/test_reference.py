"""Image references as people type them."""

from __future__ import annotations

import pytest

from trail.apps.errors import AppError
from trail.apps.reference import is_loopback, parse_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest", "name"),
    [
        (
            "127.0.0.1:5000/team/app:1.2",
            "127.0.0.1:5000",
            "team/app",
            "1.2",
            None,
            "127.0.0.1:5000/team/app",
        ),
        ("localhost/app", "localhost", "app", "latest", None, "localhost/app"),
        ("alpine", "docker.io", "library/alpine", "latest", None, "alpine"),
        (
            "vaultwarden/server:latest",
            "docker.io",
            "vaultwarden/server",
            "latest",
            None,
            "vaultwarden/server",
        ),
        (
            f"registry.gitlab.com/pantacor/pvws@{DIGEST}",
            "registry.gitlab.com",
            "pantacor/pvws",
            None,
            DIGEST,
            "registry.gitlab.com/pantacor/pvws",
        ),
        (f"host:5000/a/b:c@{DIGEST}", "host:5000", "a/b", "c", DIGEST, "host:5000/a/b"),
    ],
)
def test_it_parses_references(text, registry, repository, tag, digest, name):
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest, ref.name) == (
        registry,
        repository,
        tag,
        digest,
        name,
    )
    assert ref.reference == (digest or tag)


@pytest.mark.parametrize(
    "text", ["UPPER/case", "host:5000/app:bad tag", "app@sha256:short", "app@md5:" + "0" * 32, ""]
)
def test_it_refuses_what_is_not_a_reference(text):
    with pytest.raises(AppError) as caught:
        parse_reference(text)
    assert caught.value.code == "bad-source"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1:5000", True),
        ("127.1.2.3", True),
        ("localhost:5000", True),
        ("[::1]:5000", True),
        ("10.0.0.1:5000", False),
        ("registry.example.com", False),
        ("localhost.example.com", False),
    ],
)
def test_it_knows_which_hosts_are_this_machine(host, loopback):
    assert is_loopback(host) is loopback
