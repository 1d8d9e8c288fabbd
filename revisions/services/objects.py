"""Objects: who may use which sha, uploads, links to public content.

An owner's object (:class:`~revisions.models.OwnerObject`) is PENDING until
verified bytes arrive from that owner, then OBJECT; or LINK when the sha is
in a public revision and its bytes are stored, so the owner uses them
without uploading. Bytes are stored once per sha (:class:`Blob`): an owner
whose sha is stored only for others must still upload it (proof of
possession); the verified upload then lands on the same stored bytes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework import exceptions

from portal.auth import device_of, person_of
from portal.errors import Conflict, DomainError
from revisions.models import Blob, OwnerObject, Step, StepObject
from revisions.storage import UploadRejected, get_store

PENDING, OBJECT, LINK = OwnerObject.Kind.PENDING, OwnerObject.Kind.OBJECT, OwnerObject.Kind.LINK


@dataclass(frozen=True)
class ObjectView:
    """An object as one caller sees it: their own row, or content reached through a revision."""

    sha256: str
    size: int
    objectname: str
    owner_prn: str
    mime_type: str
    time_created: dt.datetime
    time_modified: dt.datetime
    #: "pending", "object", "link", or "" when reached through a visible revision.
    kind: str
    #: Whether bytes are stored (so a download URL works).
    stored: bool
    #: The owner's upload grant (an OwnerObject id) while an upload is expected
    #: (or a forced re-upload is allowed); the signed-puturl is made for it.
    grant: str = ""

    @classmethod
    def of(cls, obj: OwnerObject) -> ObjectView:
        return cls(
            sha256=obj.sha256,
            size=obj.size,
            objectname=obj.objectname,
            owner_prn=obj.owner.prn,
            mime_type=obj.mime_type,
            time_created=obj.time_created,
            time_modified=obj.time_modified,
            kind=obj.kind,
            stored=obj.kind != PENDING,
            grant=obj.id if obj.kind == PENDING else "",
        )

    @classmethod
    def of_blob(cls, blob: Blob, objectname: str = "", owner_prn: str = "") -> ObjectView:
        return cls(
            sha256=blob.sha256,
            size=blob.size,
            objectname=objectname or blob.sha256,
            owner_prn=owner_prn,
            mime_type="application/octet-stream",
            time_created=blob.time_created,
            time_modified=blob.time_created,
            kind="",
            stored=True,
        )


def object_owner(user):
    """The account whose objects ``user`` uses: a person's own, or a device's owner's."""
    device = device_of(user)
    if device is not None:
        if device.owner_id is None:
            raise DomainError(
                "this device is not claimed yet; claim the device first, then upload objects",
                code="unclaimed",
                status_code=403,
            )
        return device.owner
    person = person_of(user)
    if person is None:
        raise exceptions.NotAuthenticated("log in to use objects")
    return person


def public_shas(shas: Iterable[str]) -> set[str]:
    """Which of ``shas`` are public content: named by a public revision whose owner
    holds them (uploaded or linked). Naming a sha in a public state is not enough:
    a state may name bytes its owner never had."""
    return set(
        StepObject.objects.held()
        .filter(sha256__in=list(shas), step__trail__device__public=True)
        .values_list("sha256", flat=True)
        .distinct()
    )


def _install(obj: OwnerObject, upload, store) -> OwnerObject:
    """Make a verified ``upload`` of ``obj``'s sha stored (once) and ``obj`` an OBJECT."""
    try:
        with transaction.atomic():
            locked = OwnerObject.objects.select_for_update().filter(pk=obj.pk).first()
            if locked is None:
                raise UploadRejected(
                    "grant-gone", "this upload is no longer expected; ask for a new URL"
                )
            # Inserting the row waits for a concurrent insert or a garbage
            # collection of the same sha to finish; the bytes are installed
            # before the row becomes visible, so a Blob row always has bytes.
            _, created = Blob.objects.get_or_create(
                sha256=locked.sha256, defaults={"size": locked.size}
            )
            if created:
                store.install(upload, locked.sha256)
            locked.kind = OBJECT
            locked.time_modified = timezone.now()
            locked.save(update_fields=["kind", "time_modified"])
    finally:
        store.discard(upload)
    return locked


def _promote(obj: OwnerObject, store=None) -> OwnerObject:
    """A PENDING object whose bytes were uploaded straight to the store becomes an OBJECT."""
    store = store or get_store()
    if obj.kind != PENDING or not store.uploads_bypass_server:
        return obj
    upload = store.fetch_staged(obj)
    if upload is None:
        return obj
    try:
        return _install(obj, upload, store)
    except UploadRejected:
        return obj


def ensure_present(owner, shas: Iterable[str]) -> None:
    """Install the verified uploads that ``owner`` made straight to the store (S3)."""
    store = get_store()
    if not store.uploads_bypass_server:
        return
    for obj in OwnerObject.objects.filter(owner=owner, sha256__in=list(shas), kind=PENDING):
        _promote(obj, store)


def missing_objects(owner, shas: Iterable[str], lock: bool = False) -> list[str]:
    """The sorted shas of ``shas`` that ``owner`` has neither uploaded nor linked.

    With ``lock``, the owner's rows are locked (in sha order, so two posts
    never deadlock) until the transaction ends: garbage collection cannot
    remove them while a step that names them is being written.
    """
    shas = set(shas)
    if not shas:
        return []
    rows = OwnerObject.objects.filter(owner=owner, sha256__in=list(shas)).present()
    if lock:
        rows = rows.select_for_update().order_by("sha256")
    return sorted(shas - set(rows.values_list("sha256", flat=True)))


def link_public_objects(owner, shas: Iterable[str]) -> set[str]:
    """Link to ``owner`` the shas that are stored and named by a public revision; return them."""
    wanted = set(missing_objects(owner, shas))
    if not wanted:
        return set()
    return _link(owner, Blob.objects.filter(sha256__in=public_shas(wanted)))


def link_held_objects(owner, step: Step, shas: Iterable[str]) -> set[str]:
    """Link to ``owner`` those of ``shas`` that ``step``'s owner holds (uploaded or
    linked), stored, public or not; return them. For a revision its owner offered to
    ``owner`` (a merged proposal): the bytes were theirs to give."""
    wanted = missing_objects(owner, shas)
    if not wanted:
        return set()
    return _link(owner, held_blobs(step, wanted).values())


def _link(owner, found: Iterable[Blob]) -> set[str]:
    """Make each stored blob of ``found`` a LINK object of ``owner`` (a PENDING one too)."""
    blobs = {b.sha256: b for b in found}
    now = timezone.now()
    for sha, blob in blobs.items():
        obj, created = OwnerObject.objects.get_or_create(
            owner=owner,
            sha256=sha,
            defaults={"kind": LINK, "size": blob.size, "objectname": sha, "time_modified": now},
        )
        if not created:
            OwnerObject.objects.filter(pk=obj.pk, kind=PENDING).update(
                kind=LINK, size=blob.size, time_modified=now
            )
    return set(blobs)


def request_upload(
    owner, sha: str, size: int, objectname: str = "", mime_type: str = ""
) -> OwnerObject:
    """``POST /objects/``: the owner's object for ``sha``, linked or granted an upload.

    Returns the row; its ``kind`` says what happened: PENDING means "upload
    it now" (the grant's time is refreshed), OBJECT or LINK means the owner
    already has it (a 409 on the wire).
    """
    if size > settings.OBJECTS_MAX_BYTES:
        raise DomainError(
            f"objects are at most {settings.OBJECTS_MAX_BYTES} bytes; this one is {size}",
            code="too-large",
            status_code=413,
        )
    obj = OwnerObject.objects.select_related("owner").filter(owner=owner, sha256=sha).first()
    if obj is not None:
        obj = _promote(obj)
        if obj.present:
            return obj
    blob = Blob.objects.filter(sha256=sha).first()
    if blob is not None and blob.size != size:
        raise DomainError(
            f"the content with sha256 {sha} is {blob.size} bytes, not {size}:"
            " the size or the sha256 is wrong",
            code="size-mismatch",
        )
    now = timezone.now()
    if blob is not None and public_shas([sha]):
        link_public_objects(owner, [sha])
    else:
        fields = {"size": size, "objectname": objectname or sha, "time_modified": now}
        if mime_type:
            fields["mime_type"] = mime_type
        obj, created = OwnerObject.objects.get_or_create(owner=owner, sha256=sha, defaults=fields)
        if not created:
            # Never turn an object that became present meanwhile back into a grant.
            OwnerObject.objects.filter(pk=obj.pk, kind=PENDING).update(**fields)
    return OwnerObject.objects.select_related("owner").get(owner=owner, sha256=sha)


def receive_upload(
    grant_id: str, sha: str, size: int | None, stream, content_length: int | None
) -> OwnerObject:
    """Take the bytes of an upload to a ``/local-s3/`` URL of this hub.

    ``size`` is the one the URL was signed for. Nothing is kept unless
    exactly that many bytes arrive and their sha256 matches; raises
    UploadRejected (with a code) otherwise. The grant may already be an
    OBJECT (a forced re-upload): the bytes are verified and, being stored,
    change nothing.
    """
    obj = OwnerObject.objects.select_related("owner").filter(pk=grant_id, sha256=sha).first()
    if obj is None or obj.size != size:
        raise UploadRejected("grant-gone", "this upload is no longer expected; ask for a new URL")
    if content_length is not None and content_length != obj.size:
        raise UploadRejected(
            "size-mismatch", f"Content-Length is {content_length}, the announced size is {obj.size}"
        )
    store = get_store()
    upload = store.receive(stream, obj.size, obj.sha256)
    return _install(obj, upload, store)


def find_object(user, sha: str) -> ObjectView | None:
    """The object ``sha`` as ``user`` may see it: their owner's, or content a
    revision visible to them names. None when they may not (a 404)."""
    owner = None
    device = device_of(user)
    if device is not None:
        owner = device.owner
    elif person_of(user) is not None:
        owner = user
    if owner is not None:
        obj = OwnerObject.objects.select_related("owner").filter(owner=owner, sha256=sha).first()
        if obj is not None:
            return ObjectView.of(_promote(obj))
    blob = Blob.objects.filter(sha256=sha).first()
    if blob is None:
        return None
    # Only through a step whose owner holds the sha: naming it grants nothing.
    visible = StepObject.objects.held().filter(sha256=sha, step__in=Step.objects.visible_to(user))
    return ObjectView.of_blob(blob) if visible.exists() else None


def held_blobs(step: Step, shas: Iterable[str]) -> dict[str, Blob]:
    """The stored bytes of those of ``shas`` that ``step``'s owner holds (uploaded or
    linked): the objects of ``step`` whose bytes its pages may serve or show. Naming a
    sha in a state grants nothing."""
    owner = step.trail.device.owner
    shas = list(shas)
    if owner is None or not shas:
        return {}
    ensure_present(owner, shas)
    held = OwnerObject.objects.present().filter(owner=owner, sha256__in=shas)
    return {b.sha256: b for b in Blob.objects.filter(sha256__in=held.values("sha256"))}


def small_contents(blobs: Iterable[Blob], limit: int) -> dict[str, bytes]:
    """The bytes of those ``blobs`` (from :func:`held_blobs`) of at most ``limit``
    bytes, by sha; larger ones are not read at all."""
    store = get_store()
    contents = {}
    for blob in blobs:
        if blob.size > limit:
            continue
        stream = store.open(blob.sha256)
        try:
            contents[blob.sha256] = stream.read(blob.size)
        finally:
            stream.close()
    return contents


def step_objects(step: Step) -> list[ObjectView]:
    """The objects ``step``'s state names, in key order, one per sha.

    Content its owner does not hold (not uploaded yet, or merely named: a
    state may name any sha) shows with ``stored=False`` and the size its
    owner announced (0 if none); its bytes are not served.
    """
    from trail.state import object_shas

    keys = object_shas(step.state)
    owner = step.trail.device.owner
    blobs = held_blobs(step, keys)
    pending = {}
    if owner is not None and len(blobs) < len(keys):
        pending = {
            o.sha256: o.size
            for o in OwnerObject.objects.filter(owner=owner, sha256__in=list(keys - blobs.keys()))
        }
    owner_prn = owner.prn if owner is not None else ""
    views = []
    for sha, names in sorted(keys.items(), key=lambda item: item[1][0]):
        blob = blobs.get(sha)
        if blob is None:  # not stored yet: show what its owner announced
            blob = Blob(sha256=sha, size=pending.get(sha, 0), time_created=step.time_created)
            views.append(replace(ObjectView.of_blob(blob, names[0], owner_prn), stored=False))
        else:
            views.append(ObjectView.of_blob(blob, names[0], owner_prn))
    return views


def delete_object(owner, sha: str) -> OwnerObject:
    """Drop ``owner``'s right to ``sha`` unless one of their revisions names it.

    The bytes stay while anyone else has or references them; garbage
    collection removes them after the grace period.
    """
    with transaction.atomic():
        obj = (
            OwnerObject.objects.select_for_update()
            .select_related("owner")
            .filter(owner=owner, sha256=sha)
            .first()
        )
        if obj is None:
            raise exceptions.NotFound("you have no object with that sha256")
        used = StepObject.objects.filter(sha256=sha, step__trail__device__owner=owner)
        if used.exists():
            raise Conflict(
                "a revision of one of your devices names this object; it cannot be deleted",
                code="object-in-use",
            )
        obj.delete()
    return obj
