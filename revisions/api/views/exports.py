"""``/exports/<owner-nick>/<device-nick>/<rev>/<name>.tar.gz``: a revision as a tarball."""

from __future__ import annotations

from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from portal.api.docs import error_response
from portal.errors import Conflict, DomainError
from revisions.api import examples
from revisions.api.lookups import parse_rev
from revisions.api.views.common import streamed
from revisions.exports import export_members, missing_blobs, tarball
from revisions.models import Step
from revisions.storage.base import attachment


class ExportView(APIView):
    """Stream ``json`` and ``objects/`` of an owned or public revision (as pvr export does)."""

    permission_classes = [AllowAny]

    def perform_content_negotiation(self, request, force=False):
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        summary="Export a revision as a tarball",
        description=(
            "A `.tar.gz` of the revision as `pvr export` writes it: its state as `json`"
            " and every object under `objects/<sha256>`, streamed, saved under the name"
            " asked for. For whoever may see the device (anyone when it is public); a"
            " revision you may not see is a 404, to anonymous callers too. A revision"
            " whose objects are not all uploaded yet is a"
            " 409 `missing-objects` listing them; a name that does not end in `.tar.gz` is"
            " a 404."
        ),
        parameters=[
            OpenApiParameter("owner", str, OpenApiParameter.PATH, description="owner's nick"),
            OpenApiParameter("nick", str, OpenApiParameter.PATH, description="device's nick"),
            OpenApiParameter("rev", int, OpenApiParameter.PATH),
            OpenApiParameter("filename", str, OpenApiParameter.PATH, description="<name>.tar.gz"),
        ],
        responses={
            (200, "application/gzip"): OpenApiTypes.BINARY,
            **error_response(
                "some of the revision's objects are not uploaded yet",
                409,
                "missing-objects",
                "1 object(s) of this revision are not uploaded yet",
                missing=[examples.KERNEL_SHA],
            ),
        },
    )
    def get(self, request, owner, nick, rev, filename):
        if not filename.endswith(".tar.gz") or "/" in filename or '"' in filename:
            raise Http404("exports are named <name>.tar.gz")
        if any(ord(char) < 0x20 or ord(char) == 0x7F for char in filename):
            raise DomainError("an export's name has no control characters", "bad-filename")
        step = (
            Step.objects.visible_to(request.user)
            .filter(trail__device__owner__username=owner, trail__device__nick=nick)
            .filter(rev=parse_rev(rev))
            .first()
        )
        if step is None:
            raise Http404(f"no revision {rev} of {owner}/{nick} that you may read")
        missing = missing_blobs(step)
        if missing:
            raise Conflict(
                f"{len(missing)} object(s) of this revision are not uploaded yet",
                code="missing-objects",
                missing=missing,
            )
        response = StreamingHttpResponse(
            streamed(request, tarball(export_members(step))), content_type="application/gzip"
        )
        response["Content-Disposition"] = attachment(filename)
        return response
