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

from portal.api.guards import require_login
from portal.api.params import LIMIT, limit_param
from portal.errors import Forbidden
from revisions import services
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

    @extend_schema(parameters=[LIMIT, AFTER_SHA], responses=ObjectSerializer(many=True))
    def get(self, request):
        owner = services.object_owner(request.user)
        objects = OwnerObject.objects.select_related("owner").filter(owner=owner).present()
        after = request.query_params.get("after", "")
        if after:
            objects = objects.filter(sha256__gt=after)
        page = objects.order_by("sha256")[: limit_param(request)]
        return Response(ObjectSerializer([ObjectView.of(o) for o in page], many=True).data)

    @extend_schema(request=ObjectRequestSerializer, responses=ANNOUNCE_RESPONSES)
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

    @extend_schema(parameters=[SHA], responses=ObjectWithAccessSerializer)
    def get(self, request, sha):
        return object_answer(request, _found(request, sha))

    @extend_schema(parameters=[SHA], responses=ObjectSerializer)
    def delete(self, request, sha):
        require_login(request)
        if getattr(request.user, "is_device", False):
            raise Forbidden("devices cannot delete objects; their owner can", "person-only")
        obj = services.delete_object(request.user, sha)
        return Response(ObjectSerializer(ObjectView.of(obj)).data)


class ObjectBlobView(APIView):
    """A redirect to the object's signed download URL."""

    permission_classes = [AllowAny]

    @extend_schema(parameters=[SHA], responses={302: None})
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

    @extend_schema(parameters=[REF, REV], responses=ObjectWithAccessSerializer(many=True))
    def get(self, request, ref, rev):
        step = get_step(request.user, ref, rev)
        views = services.step_objects(step)
        context = object_context(request)
        return Response(ObjectWithAccessSerializer(views, many=True, context=context).data)

    @extend_schema(
        parameters=[REF, REV], request=ObjectRequestSerializer, responses=ANNOUNCE_RESPONSES
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

    @extend_schema(parameters=[REF, REV, SHA], responses=ObjectWithAccessSerializer)
    def get(self, request, ref, rev, sha):
        step = get_step(request.user, ref, rev)
        for view in services.step_objects(step):
            if view.sha256 == sha:
                return object_answer(request, view)
        raise Http404(f"revision {step.rev}'s state names no object with that sha256")
