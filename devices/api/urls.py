"""Device API routes. Fixed paths (``tokens``, ``np``) come before ``<ref>``."""

from devices.api import views
from portal.urlhelpers import api_path

urlpatterns = [
    *api_path("devices", views.DeviceListView.as_view(), name="api-devices"),
    *api_path("devices/tokens", views.AutoTokenListView.as_view(), name="api-device-tokens"),
    *api_path(
        "devices/tokens/<str:token_id>",
        views.AutoTokenDetailView.as_view(),
        name="api-device-token",
    ),
    *api_path(
        "devices/np/<str:usernick>/<str:devicenick>",
        views.DeviceByNickView.as_view(),
        name="api-device-by-nick",
    ),
    *api_path("devices/<str:ref>", views.DeviceDetailView.as_view(), name="api-device"),
    *api_path(
        "devices/<str:ref>/public", views.DevicePublicView.as_view(), name="api-device-public"
    ),
    *api_path(
        "devices/<str:ref>/user-meta", views.UserMetaView.as_view(), name="api-device-user-meta"
    ),
    *api_path(
        "devices/<str:ref>/device-meta",
        views.DeviceMetaView.as_view(),
        name="api-device-device-meta",
    ),
    *api_path("devices/<str:ref>/tags", views.DeviceTagsView.as_view(), name="api-device-tags"),
    *api_path("logs", views.LogsView.as_view(), name="api-logs"),
]
