"""Trails, steps, objects and exports at the root, as the Pantahub wire has them.

Fixed paths (``summary``, ``.pvrremote``) come before ``<ref>`` and ``<sha>``. The signed
object URLs are ``/local-s3/<token>``, the path Pantavisor looks for (updater.c).
"""

from portal.urlhelpers import api_path
from revisions.api import poll
from revisions.api.views import exports, objects, steps, storage, trails

STEP = "trails/<str:ref>/steps/<str:rev>"

urlpatterns = [
    # A device's poll first: it is the commonest request, answered from the cache
    # while nothing changed (revisions/api/poll.py).
    *api_path(
        "trails/<str:ref>/steps", poll.cached(steps.StepListView.as_view()), name="api-steps"
    ),
    *api_path("trails", trails.TrailListView.as_view(), name="api-trails"),
    *api_path("trails/summary", trails.TrailSummaryListView.as_view(), name="api-trails-summary"),
    *api_path("trails/<str:ref>", trails.TrailDetailView.as_view(), name="api-trail"),
    *api_path(
        "trails/<str:ref>/summary", trails.TrailSummaryView.as_view(), name="api-trail-summary"
    ),
    *api_path(
        "trails/<str:ref>/.pvrremote", trails.TrailPvrRemoteView.as_view(), name="api-trail-pvr"
    ),
    *api_path(STEP, steps.StepDetailView.as_view(), name="api-step"),
    *api_path(f"{STEP}/.pvrremote", trails.StepPvrRemoteView.as_view(), name="api-step-pvr"),
    *api_path(f"{STEP}/state", steps.StepStateView.as_view(), name="api-step-state"),
    *api_path(f"{STEP}/meta", steps.StepMetaView.as_view(), name="api-step-meta"),
    *api_path(f"{STEP}/progress", steps.StepProgressView.as_view(), name="api-step-progress"),
    *api_path(f"{STEP}/cancel", steps.StepCancelView.as_view(), name="api-step-cancel"),
    *api_path(f"{STEP}/wontgo", steps.StepWontgoView.as_view(), name="api-step-wontgo"),
    *api_path(f"{STEP}/objects", objects.StepObjectsView.as_view(), name="api-step-objects"),
    *api_path(
        f"{STEP}/objects/<str:sha>", objects.StepObjectView.as_view(), name="api-step-object"
    ),
    *api_path("objects", objects.ObjectListView.as_view(), name="api-objects"),
    *api_path("local-s3/<str:token>", storage.LocalS3View.as_view(), name="local-s3"),
    *api_path("objects/<str:sha>", objects.ObjectDetailView.as_view(), name="api-object"),
    *api_path("objects/<str:sha>/blob", objects.ObjectBlobView.as_view(), name="api-object-blob"),
    *api_path(
        "exports/<str:owner>/<str:nick>/<str:rev>/<str:filename>",
        exports.ExportView.as_view(),
        name="api-export",
    ),
]
