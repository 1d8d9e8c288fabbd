"""Community API routes: explore, stars, forks and profiles over the wire."""

from community.api import explore, forks, proposals, stars, upstream
from portal.urlhelpers import api_path

urlpatterns = [
    *api_path("community/devices", explore.ExploreView.as_view(), name="api-community-devices"),
    *api_path(
        "community/users/<str:usernick>/devices",
        explore.UserDevicesView.as_view(),
        name="api-community-user-devices",
    ),
    *api_path("devices/<str:ref>/star", stars.StarView.as_view(), name="api-device-star"),
    *api_path(
        "devices/<str:ref>/stargazers",
        stars.StargazersView.as_view(),
        name="api-device-stargazers",
    ),
    *api_path(
        "devices/<str:ref>/forks", explore.DeviceForksView.as_view(), name="api-device-forks"
    ),
    *api_path("devices/<str:ref>/fork", forks.ForkView.as_view(), name="api-device-fork"),
    *api_path(
        "trails/<str:ref>/upstream", upstream.UpstreamView.as_view(), name="api-trail-upstream"
    ),
    *api_path(
        "trails/<str:ref>/upstream/merge",
        upstream.UpstreamMergeView.as_view(),
        name="api-trail-upstream-merge",
    ),
    *api_path(
        "trails/<str:ref>/proposals",
        proposals.ProposalsView.as_view(),
        name="api-trail-proposals",
    ),
    *api_path(
        "trails/<str:ref>/proposals/<int:number>",
        proposals.ProposalView.as_view(),
        name="api-trail-proposal",
    ),
    *api_path(
        "trails/<str:ref>/proposals/<int:number>/comments",
        proposals.ProposalCommentsView.as_view(),
        name="api-trail-proposal-comments",
    ),
    *api_path(
        "trails/<str:ref>/proposals/<int:number>/merge",
        proposals.ProposalMergeView.as_view(),
        name="api-trail-proposal-merge",
    ),
    *api_path(
        "trails/<str:ref>/proposals/<int:number>/close",
        proposals.ProposalCloseView.as_view(),
        name="api-trail-proposal-close",
    ),
]
