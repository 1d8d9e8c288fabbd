"""Community pages (DESIGN.md): /explore/, /u/<nick>/, /u/<nick>/<device>/…, and the
dashboard's bulk actions (/dashboard/bulk/)."""

from django.urls import include, path

from community.views import device, fleet, lists, owner, proposals, revise

app_name = "community"

device_pages = [
    path("", device.overview, name="device"),
    path("revisions/", device.revisions, name="revisions"),
    path("revisions/<int:rev>/", device.revision, name="revision"),
    path("revisions/<int:rev>/files/<path:key>", device.file_page, name="file"),
    path("revisions/<int:rev>/download/<path:key>", device.download, name="download"),
    path("revisions/<int:rev>/rollback/", revise.rollback, name="rollback"),
    path("revisions/<int:rev>/fork/", revise.fork, name="fork"),
    path("diff/", device.diff, name="diff"),
    path("forks/", device.forks, name="forks"),
    path("upstream/merge/", revise.merge_upstream, name="upstream-merge"),
    path("upstream/follow/", revise.follow_upstream, name="upstream-follow"),
    path("proposals/", proposals.proposals, name="proposals"),
    path("proposals/new/", proposals.new, name="proposal-new"),
    path("proposals/<int:number>/", proposals.proposal, name="proposal"),
    path("proposals/<int:number>/comments/", proposals.comment, name="proposal-comment"),
    path("proposals/<int:number>/merge/", proposals.merge, name="proposal-merge"),
    path("proposals/<int:number>/close/", proposals.close, name="proposal-close"),
    path("star/", owner.star, name="star"),
    path("meta/", owner.meta, name="meta"),
    path("logs/", owner.logs, name="logs"),
    path("settings/", owner.settings_page, name="settings"),
    path("settings/delete/", owner.delete, name="delete"),
]

urlpatterns = [
    # The dashboard itself is the project's page (trailhub.views), built by community.views.
    path("dashboard/bulk/", fleet.bulk, name="fleet-bulk"),
    path("explore/", lists.explore, name="explore"),
    path("u/<str:nick>/", lists.profile, name="profile"),
    path("u/<str:nick>/<str:device>/", include(device_pages)),
]
