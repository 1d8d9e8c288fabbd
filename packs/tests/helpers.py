"""Small helpers the pack tests (and the worker-kill driver) share."""

from __future__ import annotations

from revisions.models import Step


def state(version: int | str = 1) -> dict:
    """A small valid state; ``version`` makes each one different (inline JSON only)."""
    return {
        "#spec": "pantavisor-service-system@1",
        "bsp/run.json": {"addons": [], "initrd": "pantavisor"},
        "app/config.json": {"version": version},
    }


def head(device) -> Step:
    """The device's newest revision."""
    return Step.objects.filter(trail_id=device.id).order_by("-rev").first()


def revs(device) -> list[int]:
    """The device's revision numbers, oldest first."""
    return list(
        Step.objects.filter(trail_id=device.id).order_by("rev").values_list("rev", flat=True)
    )
