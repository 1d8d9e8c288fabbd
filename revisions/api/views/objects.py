"""``/objects/…`` and ``/trails/<id>/steps/<rev>/objects``: announcing, finding, linking objects.

``POST`` answers 200 with a ``signed-puturl`` when the bytes must be
uploaded, or 409 with ``Pantahub-Object-Type: object|link`` when the owner
already has them (uploaded, or linked from a public revision).
"""

from __future__ import annotations

from dataclasses import replace

from django.http import Http404, HttpResponseRedirect
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.docs import ANONYMOUS_401, answer_example, error_response, request_example
from portal.api.guards import require_login
from portal.api.params import LIMIT, limit_param
from portal.errors import Forbidden
from revisions import services
from revisions.api import examples
from revisions.api.lookups import get_step
from revisions.api.parsers import StrictJSONParser
from revisions.api.serializers import (
    ObjectRequestSerializer,
    ObjectSerializer,
    ObjectWithAccessSerializer,
)
from revisions.api.views.common import REF, REV, SHA, object_answer, object_context
from revisions.models import OwnerObject
from revisions.services import ObjectView
from trail import wire

AFTER_SHA = OpenApiParameter("after", str, description="only objects whose sha256 sorts after this")
ANNOUNCE_RESPONSES = {
    200: ObjectWithAccessSerializer,
    409: OpenApiResponse(
        ObjectWithAccessSerializer,
        description="The owner already has it; Pantahub-Object-Type says object or link.",
    ),
}


def announce(request, owner, form_data: dict) -> Response:
    obj = services.request_upload(
        owner,
        form_data["sha256sum"],
        form_data["size"],
        form_data["objectname"],
        form_data["mime_type"],
    )
    view = ObjectView.of(obj)
    if obj.present:
        if obj.kind == OwnerObject.Kind.OBJECT:
            # `pvr post --force` PUTs the file to the 409 body's signed-puturl
            # (pvr libpvr/repolib.go, postObjects); the upload is verified and
            # changes nothing while the bytes are stored.
            view = replace(view, grant=obj.id)
        return object_answer(request, view, status=409, headers={wire.OBJECT_TYPE_HEADER: obj.kind})
    return object_answer(request, view)


class ObjectListView(APIView):
    parser_classes = [StrictJSONParser]

    @extend_schema(
        summary="List your objects",
        description=(
            "The objects the caller's account holds (a device: its owner's), uploaded or"
            " linked from a public revision, ordered by sha256 and paged with `limit` and"
            " `after`. A device not claimed yet gets a 403 `unclaimed`. "
            f"{ANONYMOUS_401}"
        ),
        examples=[answer_example(examples.OBJECT)],
        parameters=[LIMIT, AFTER_SHA],
        responses=ObjectSerializer(many=True),
    )
    def get(self, request):
        owner = services.object_owner(request.user)
        objects = OwnerObject.objects.select_related("owner").filter(owner=owner).present()
        after = request.query_params.get("after", "")
        if after:
            objects = objects.filter(sha256__gt=after)
        page = objects.order_by("sha256")[: limit_param(request)]
        return Response(ObjectSerializer([ObjectView.of(o) for o in page], many=True).data)

    @extend_schema(
        summary="Announce an object to upload",
        description=(
            "A person or a claimed device (for its owner) says which object it is about to"
            " upload: its sha256, size and name. A 200 carries `signed-puturl`: PUT the"
            " bytes there. A 409 with `Pantahub-Object-Type: object` means the owner has"
            " the bytes already, `link` that they were linked from a public revision:"
            " nothing to upload. Over `OBJECTS_MAX_BYTES` is a 413 `too-large`; a size"
            " that does not match the stored bytes of that sha256 a 400 `size-mismatch`."
            f" An unclaimed device gets a 403 `unclaimed`. {ANONYMOUS_401} Compatibility:"
            " Pantavisor sends the size as a string and the full state key as"
            " `objectname` (kept as a label); `pvr post --force` uploads again to the"
            " `signed-puturl` of the 409."
        ),
        examples=[
            request_example(examples.ANNOUNCEMENT),
            answer_example(examples.OBJECT_TO_PUT, "Upload it"),
            answer_example(
                {**examples.OBJECT_TO_GET, "signed-puturl": examples.PUT_URL},
                "The owner has it",
                status=409,
            ),
        ],
        request=ObjectRequestSerializer,
        responses=ANNOUNCE_RESPONSES,
    )
    def post(self, request):
        owner = services.object_owner(request.user)
        form = ObjectRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return announce(request, owner, form.validated_data)


def _found(request, sha: str) -> ObjectView:
    view = services.find_object(request.user, sha)
    if view is None:
        require_login(request)  # anonymous: a 401, so pvr logs in and asks again
        raise Http404("no object with that sha256 that you may read")
    return view


class ObjectDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Show an object and where to get it",
        description=(
            "The object with this sha256 and a `signed-geturl` to download its bytes"
            " (empty until they are uploaded), if the caller's account holds it or a"
            " revision the caller may see names it and its owner holds it: naming a"
            " sha256 grants nothing. Otherwise a 404, or, to a caller without a token,"
            " a 401 whose `WWW-Authenticate` names the login endpoint (`ph-aeps`), so"
            " that pvr logs in and asks again. Compatibility: Pantavisor fetches only"
            " the path of `signed-geturl`, from its own hub."
        ),
        examples=[answer_example(examples.OBJECT_TO_GET)],
        parameters=[SHA],
        responses=ObjectWithAccessSerializer,
    )
    def get(self, request, sha):
        return object_answer(request, _found(request, sha))

    @extend_schema(
        summary="Delete one of your objects",
        description=(
            "A person gives up an object their account holds; the answer is the object as"
            " it was. The bytes go later, with garbage collection, once nobody holds or"
            " names them. An object a revision of one of their devices names is a 409"
            " `object-in-use`; one they do not hold a 404. A device gets a 403"
            f" `person-only`. {ANONYMOUS_401}"
        ),
        examples=[answer_example(examples.OBJECT)],
        parameters=[SHA],
        responses={200: ObjectSerializer},  # a 200 with the object, not drf's 204
    )
    def delete(self, request, sha):
        require_login(request)
        if getattr(request.user, "is_device", False):
            raise Forbidden("devices cannot delete objects; their owner can", "person-only")
        obj = services.delete_object(request.user, sha)
        return Response(ObjectSerializer(ObjectView.of(obj)).data)


class ObjectBlobView(APIView):
    """A redirect to the object's signed download URL."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="Download an object",
        description=(
            "A 302 to the object's signed download URL, for whoever may read the object"
            " (as `GET /objects/<sha>`, with its 401 to a caller without a token); a 404"
            " when they may not or its bytes are not uploaded yet."
        ),
        parameters=[SHA],
        responses={
            302: OpenApiResponse(description="`Location` is the signed download URL"),
            **error_response(
                "not yours to read, or not uploaded yet",
                404,
                "not_found",
                "this object's bytes have not been uploaded yet",
            ),
        },
    )
    def get(self, request, sha):
        view = _found(request, sha)
        url = object_context(request)["urls"](view)["get"]
        if not url:
            raise Http404("this object's bytes have not been uploaded yet")
        return HttpResponseRedirect(url)


class StepObjectsView(ObjectListView):
    """The objects a revision names; its device (or owner) announces objects to upload.

    This is pvr's ``objects-endpoint`` (see ``.pvrremote``): a POST is
    ``POST /objects/`` itself once the caller is known to be the step's device
    or owner. pvr announces there the objects of the revision it is about to
    post, which the step's own state does not name yet.
    """

    permission_classes = [AllowAny]

    @extend_schema(
        summary="List a revision's objects",
        description=(
            "Each object the revision's state names, once per sha256 in key order, with a"
            " `signed-geturl` when its owner holds the bytes, for whoever may see the"
            f" device. A revision you may not see is a 404. {ANONYMOUS_401}"
            " Compatibility: pantavisor-mocker needs every field with its type here"
            " (`size` a string, `sizeint` a number, the times as strings)."
        ),
        examples=[answer_example(examples.OBJECT_TO_GET)],
        parameters=[REF, REV],
        responses=ObjectWithAccessSerializer(many=True),
    )
    def get(self, request, ref, rev):
        step = get_step(request.user, ref, rev)
        views = services.step_objects(step)
        context = object_context(request)
        return Response(ObjectWithAccessSerializer(views, many=True, context=context).data)

    @extend_schema(
        summary="Announce an object for a revision (pvr)",
        description=(
            "`POST /objects/` for the device or its owner, at the revision pvr is about to"
            " post on top of: the same 200 with `signed-puturl`, or 409 with"
            " `Pantahub-Object-Type`. Anyone else who may see the device gets a 403, others"
            f" a 404. {ANONYMOUS_401} Compatibility: this is pvr's `objects-endpoint`"
            " from `.pvrremote`."
        ),
        examples=[
            request_example(examples.ANNOUNCEMENT),
            answer_example(examples.OBJECT_TO_PUT, "Upload it"),
            answer_example(
                {**examples.OBJECT_TO_GET, "signed-puturl": examples.PUT_URL},
                "The owner has it",
                status=409,
            ),
        ],
        parameters=[REF, REV],
        request=ObjectRequestSerializer,
        responses=ANNOUNCE_RESPONSES,
    )
    def post(self, request, ref, rev):
        step = get_step(request.user, ref, rev)
        require_login(request)  # anonymous on a public device: 401, so pvr knows to log in
        device = step.trail.device
        if not (device.is_itself(request.user) or device.is_owned_by(request.user)):
            raise Forbidden(
                "only the device and its owner may upload a revision's objects", "forbidden"
            )
        return super().post(request)


class StepObjectView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Show one object of a revision",
        description=(
            "The object with this sha256 if the revision's state names it, with its"
            " `signed-geturl`, for whoever may see the device; a 404 otherwise."
            f" {ANONYMOUS_401} Compatibility: pvr clones by GETting"
            " `<objects-endpoint>/<sha>`, then its `signed-geturl` as it is."
        ),
        examples=[answer_example(examples.OBJECT_TO_GET)],
        parameters=[REF, REV, SHA],
        responses=ObjectWithAccessSerializer,
    )
    def get(self, request, ref, rev, sha):
        step = get_step(request.user, ref, rev)
        for view in services.step_objects(step):
            if view.sha256 == sha:
                return object_answer(request, view)
        raise Http404(f"revision {step.rev}'s state names no object with that sha256")
