"""The Proposals tab of a device: the list, proposing one of your revisions, a proposal
with its diff, conflicts, signing rule and comments, and its merge and close buttons."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from community import stateview
from community.forms import CommentForm, ProposeForm
from community.models import Proposal
from community.services import proposals as service
from community.services import revision_to_fork
from community.views.lookups import device_for, page_context
from devices.models import Device
from portal.errors import DomainError, add_to_form

PAGE_SIZE = 30


def _url(device, number: int) -> str:
    return reverse("community:proposal", args=[device.owner.username, device.nick, number])


def proposals(request, nick: str, device: str):
    """The proposals to the device, newest first (``?status=`` keeps one status)."""
    device = device_for(request, nick, device)
    wanted = request.GET.get("status", "")
    wanted = wanted if wanted in Proposal.Status.values else ""
    rows = service.proposals_of(device, wanted)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        **page_context(device, "proposals"),
        "page": page,
        "status": wanted,
        "statuses": Proposal.Status.values,
    }
    return render(request, "community/device/proposals.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def new(request, nick: str, device: str):
    """Propose a revision of one of your devices to this one."""
    target = device_for(request, nick, device)
    form = ProposeForm(request.POST or None, user=request.user, target=target)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            step = revision_to_fork(form.device, data["rev"])
            made = service.open_proposal(request.user, target, step, data["title"], data["body"])
        except DomainError as exc:
            add_to_form(form, exc, "rev" if exc.code == "no-such-rev" else None)
        else:
            messages.success(request, f"Opened proposal #{made.number}.")
            return redirect(_url(target, made.number))
    context = {**page_context(target, "proposals"), "form": form}
    status = 400 if form.errors else 200
    return render(request, "community/device/proposal_new.html", context, status=status)


def proposal(request, nick: str, device: str, number: int):
    device = device_for(request, nick, device)
    found = service.proposal_of(device, number)
    review = service.review(found)
    changes = service.changes(review)
    # The proposed revision's pages only for whoever may see its device.
    source = (
        Device.objects.visible_to(request.user).filter(id=found.source_device_id).first()
        if found.source_device_id
        else None
    )
    user = request.user
    context = {
        **page_context(device, "proposals"),
        "proposal": found,
        "review": review,
        "conflicts": stateview.conflict_rows(review.merge.conflicts if review.merge else ()),
        "changes": changes.keys,
        "before": changes.before,
        # A merged proposal's changes are its revision's here; otherwise the merged
        # state is no revision, and the proposed one may not be the caller's to open.
        "after": changes.after,
        "after_device": device if found.status == Proposal.Status.MERGED else None,
        "counts": {
            op: sum(1 for c in changes.keys if c.op == op) for op in ("added", "removed", "changed")
        },
        "source": source,
        "comments": service.comments_of(found),
        "comment_form": CommentForm() if user.is_authenticated else None,
        "can_merge": device.is_owner and found.is_open,
        "can_close": found.is_open
        and user.is_authenticated
        and (device.is_owner or found.proposer_id == user.pk),
        "text_limit": stateview.TEXT_LIMIT,
    }
    return render(request, "community/device/proposal.html", context)


@login_required
@require_POST
def merge(request, nick: str, device: str, number: int):
    device = device_for(request, nick, device, owner_only=True)
    found = service.proposal_of(device, number)
    try:
        new = service.merge(request.user, found)
    except DomainError as exc:
        messages.error(request, f"Could not merge: {exc.message}")
        return redirect(_url(device, number))
    messages.success(request, f"Merged proposal #{number} as revision {new.rev}.")
    return redirect(reverse("community:revision", args=[nick, device.nick, new.rev]))


@login_required
@require_POST
def close(request, nick: str, device: str, number: int):
    device = device_for(request, nick, device)
    try:
        service.close(request.user, service.proposal_of(device, number))
    except DomainError as exc:
        messages.error(request, f"Could not close: {exc.message}")
    else:
        messages.success(request, f"Closed proposal #{number}.")
    return redirect(_url(device, number))


@login_required
@require_POST
def comment(request, nick: str, device: str, number: int):
    device = device_for(request, nick, device)
    found = service.proposal_of(device, number)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            service.comment(request.user, found, form.cleaned_data["body"])
        except DomainError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, "Write a comment of at most 10,000 characters.")
    return redirect(_url(device, number) + "#comments")
