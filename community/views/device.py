"""The device pages: overview, forks, revision history, one revision and its files, diffs."""

from __future__ import annotations

import datetime as dt
import re
import shlex

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from community import stateview
from community.models import Fork
from community.querysets import cards, forks_of
from community.services import upstream as upstreams
from community.views.lookups import device_for, page_context, step_for
from devices.models import Device
from portal.errors import DomainError
from revisions.models import Step
from revisions.services.objects import held_blobs, small_contents, step_objects
from revisions.services.signing import parts_signed
from revisions.storage import get_store
from trail.apps.platform import platforms_of
from trail.state import SPEC_KEY, is_object_key

HISTORY_PAGE_SIZE = 50
FORKS_PAGE_SIZE = 24
#: The most objects a diff page reads to show as text; past that, changes are named by sha.
MAX_TEXT_FILES = 100
RECENT = 6
# Columns a list of revisions never shows: the big ones.
HEAVY = ("state", "log", "downloads", "meta")


def _history(device: Device):
    return (
        Step.objects.filter(trail_id=device.id)
        .select_related("author")
        .defer(*HEAVY)
        .order_by("-rev")
    )


def _forks(request, device: Device):
    """Forks into ``device``, each knowing whether the caller may still open its source."""
    visible = Device.objects.visible_to(request.user).filter(id=OuterRef("source_device_id"))
    return (
        Fork.objects.filter(device=device)
        .select_related("source_device__owner")
        .annotate(source_visible=Exists(visible))
    )


def clone_command(hub: str, device: Device) -> str:
    """The `trail clone` that gets ``device`` from ``hub``, to copy and paste anywhere:
    the hub named with ``--hub``, so that it needs no TRAIL_HUB (docs/cli.md)."""
    return shlex.join(["trail", "clone", "--hub", hub, f"{device.owner.username}/{device.nick}"])


def _upstream(request, device: Device) -> dict:
    """The upstream card of a fork: how far behind, and what a merge would conflict on."""
    status = upstreams.upstream_of(device, request.user)
    if status.source is None and not status.notice:
        return {}
    conflicts = []
    if status.behind:
        try:
            found = upstreams.preview(status)
        except DomainError:
            found = None
        conflicts = stateview.conflict_rows(found.merge.conflicts if found else ())
    return {"upstream": status, "conflicts": conflicts}


def overview(request, nick: str, device: str):
    device = device_for(request, nick, device)
    newest = Step.objects.filter(trail_id=device.id).order_by("-rev").first()
    recent = list(_history(device)[:RECENT])
    hub = request.build_absolute_uri("/").rstrip("/")
    return render(
        request,
        "community/device/overview.html",
        {
            **page_context(device, "overview"),
            "newest": newest,
            "platforms": platforms_of(newest.state) if newest else [],
            "recent": recent,
            "hub": hub,
            "clone": clone_command(hub, device),
            **_upstream(request, device),
        },
    )


def forks(request, nick: str, device: str):
    """The devices forked from this one that the caller may see, newest fork first."""
    device = device_for(request, nick, device)
    rows = forks_of(device, request.user).select_related("user")
    page = Paginator(rows, FORKS_PAGE_SIZE).get_page(request.GET.get("page"))
    found = {card.id: card for card in cards([fork.device_id for fork in page], request.user)}
    for fork in page:
        fork.card = found[fork.device_id]
    context = {
        **page_context(device, "forks"),
        "page": page,
        # The count on the page counts forks into private devices too; the list cannot.
        "unlisted": max(device.fork_count - page.paginator.count, 0),
    }
    return render(request, "community/device/forks.html", context)


def revisions(request, nick: str, device: str):
    device = device_for(request, nick, device)
    page = Paginator(_history(device), HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    revs = [step.rev for step in page]
    forks = {fork.rev: fork for fork in _forks(request, device).filter(rev__in=revs)}
    for step in page:
        step.fork = forks.get(step.rev)
    return render(
        request,
        "community/device/revisions.html",
        {**page_context(device, "revisions"), "page": page},
    )


def revision(request, nick: str, device: str, rev: int):
    device = device_for(request, nick, device)
    step = step_for(device, rev)
    fork = _forks(request, device).filter(rev=rev).first()
    rows = stateview.tree_rows(step.state)
    signing = parts_signed(device, step.state)
    objects = {view.sha256: view for view in step_objects(step)}
    for row in rows:
        if row.kind == "object" and row.value in objects:
            view = objects[row.value]
            row.extra = {"size": view.size if view.stored else None, "stored": view.stored}
    return render(
        request,
        "community/device/revision.html",
        {
            **page_context(device, "revisions"),
            "step": step,
            "fork": fork,
            "rows": rows,
            "platforms": platforms_of(step.state),
            # Badges only where something is signed: most revisions are not.
            "signing": signing if any(part.signatures for part in signing) else None,
            "is_head": device.head_rev == step.rev,
            # Only a revision that worked is offered to roll back to (never a failed one).
            "can_roll_back": device.is_owner
            and device.head_rev != step.rev
            and step.reached(device.has_hardware),
        },
    )


# ``7``, ``alice/kiosk`` (its newest revision) or ``alice/kiosk@7``.
_SPEC = re.compile(
    r"^(?:(?P<nick>[^/@\s]+)/(?P<device>[^/@]+)(?:@(?P<rev>\d{1,9}))?|(?P<own>\d{1,9}))$"
)


class SpecError(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _resolve(request, device: Device, spec: str) -> tuple[Device, Step]:
    """The revision a diff side names, seen through the caller's visibility."""
    match = _SPEC.match(spec.strip())
    if not match:
        raise SpecError(
            f"{spec!r} is not a revision: use 7, or owner/device, or owner/device@7", 400
        )
    if match["nick"]:
        try:
            device = device_for(request, match["nick"], match["device"])
        except Http404:
            raise SpecError(f"no device {match['nick']}/{match['device']}", 404) from None
    steps = Step.objects.select_related("author").filter(trail_id=device.id)
    rev = match["own"] or match["rev"]
    step = steps.filter(rev=int(rev)).first() if rev else steps.order_by("-rev").first()
    if step is None:
        raise SpecError(f"no revision {spec.strip()}", 404)
    return device, step


def _label(base: Device, device: Device, step: Step) -> str:
    if device.id == base.id:
        return f"rev {step.rev}"
    return f"{device.owner.username}/{device.nick}@{step.rev}"


def diff(request, nick: str, device: str):
    device = device_for(request, nick, device)
    a = request.GET.get("a", "").strip()[:200]
    b = request.GET.get("b", "").strip()[:200]
    if not b and device.head_rev is not None:
        b = str(device.head_rev)
    if not a and b.isdigit() and int(b) > 0:
        a = str(int(b) - 1)
    context = {**page_context(device, "diff"), "a": a, "b": b, "text_limit": stateview.TEXT_LIMIT}
    if not (a and b):
        return render(request, "community/device/diff.html", context)
    try:
        a_device, a_step = _resolve(request, device, a)
        b_device, b_step = _resolve(request, device, b)
    except SpecError as exc:
        context["error"] = str(exc)
        return render(request, "community/device/diff.html", context, status=exc.status)
    changes = stateview.diff(a_step.state, b_step.state, _text_contents(a_step, b_step))
    context.update(
        a_label=_label(device, a_device, a_step),
        b_label=_label(device, b_device, b_step),
        a_device=a_device,
        b_device=b_device,
        a_step=a_step,
        b_step=b_step,
        changes=changes,
        counts={
            op: sum(1 for c in changes if c.op == op) for op in ("added", "removed", "changed")
        },
    )
    return render(request, "community/device/diff.html", context)


def _text_contents(a: Step, b: Step) -> dict[str, bytes]:
    """The bytes of the objects that differ between ``a`` and ``b``, each read through
    its own side's revision (what that revision's page may show) and only when small:
    at most :data:`MAX_TEXT_FILES` of them, the rest named by sha."""
    wanted = stateview.text_objects(a.state, b.state)
    contents: dict[str, bytes] = {}
    budget = MAX_TEXT_FILES
    for step, shas in zip((a, b), wanted, strict=True):
        chosen = sorted(shas - contents.keys())[:budget]
        contents.update(small_contents(held_blobs(step, chosen).values(), stateview.TEXT_LIMIT))
        budget -= len(chosen)
    return contents


def _file_of(request, nick: str, device: str, rev: int, key: str) -> tuple[Device, Step]:
    """The device, its revision ``rev``, which has the file ``key``; or 404."""
    found = device_for(request, nick, device)
    step = step_for(found, rev)
    if key == SPEC_KEY or key not in step.state:
        raise Http404(f"revision {rev} has no file {key}")
    return found, step


def file_page(request, nick: str, device: str, rev: int, key: str):
    """One file of a revision: a ``.json`` key's JSON, a small text object's text (escaped,
    never rendered), or for anything else its size and sha with the download."""
    device, step = _file_of(request, nick, device, rev, key)
    value = step.state[key]
    context = {
        **page_context(device, "revisions"),
        "step": step,
        "key": key,
        "folders": key.split("/")[:-1],
        "name": key.rsplit("/", 1)[-1],
        "text_limit": stateview.TEXT_LIMIT,
    }
    if is_object_key(key):
        blob = held_blobs(step, [value]).get(value) if isinstance(value, str) else None
        data = small_contents([blob], stateview.TEXT_LIMIT).get(value) if blob else None
        text = stateview.as_text(data)
        context.update(sha=value, blob=blob)
    else:
        text = stateview.pretty(value)
    if text is not None:
        lines = text.split("\n")
        context["lines"] = lines[:-1] if len(lines) > 1 and not lines[-1] else lines
    return render(request, "community/device/file.html", context)


def download(request, nick: str, device: str, rev: int, key: str):
    """Redirect to a freshly signed download of the object at ``key`` in revision ``rev``,
    saved under the key's file name (Content-Disposition).

    URLs are signed on click rather than for every object on the page: they
    expire, and a state can name thousands of objects.
    """
    device, step = _file_of(request, nick, device, rev, key)
    sha = step.state[key]
    if not is_object_key(key) or not isinstance(sha, str) or not held_blobs(step, [sha]):
        raise Http404("the object is not uploaded yet")
    expires = timezone.now() + dt.timedelta(seconds=settings.OBJECTS_URL_TTL)
    name = key.rsplit("/", 1)[-1]
    return redirect(get_store().download_url(request, sha, expires, filename=name))
