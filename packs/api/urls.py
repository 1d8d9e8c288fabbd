"""Pack API routes (included from ``devices/api/urls.py``)."""

from packs.api import views
from portal.urlhelpers import api_path

PACK = "packs/<str:pack>"
ROLLOUT = f"{PACK}/rollouts/<str:rollout>"

urlpatterns = [
    *api_path("packs", views.PackListView.as_view(), name="api-packs"),
    *api_path(PACK, views.PackDetailView.as_view(), name="api-pack"),
    *api_path(
        f"{PACK}/followers/<str:device>", views.FollowerView.as_view(), name="api-pack-follower"
    ),
    *api_path(f"{PACK}/rollouts", views.RolloutListView.as_view(), name="api-pack-rollouts"),
    *api_path(ROLLOUT, views.RolloutDetailView.as_view(), name="api-pack-rollout"),
    *api_path(f"{ROLLOUT}/resume", views.ResumeView.as_view(), name="api-pack-rollout-resume"),
    *api_path(f"{ROLLOUT}/abort", views.AbortView.as_view(), name="api-pack-rollout-abort"),
    *api_path(f"{ROLLOUT}/revert", views.RevertView.as_view(), name="api-pack-rollout-revert"),
]
