"""Dashboard pages under /dashboard/ (included from portal.urls)."""

from django.urls import path

from devices import views
from devices.packs import views as pack_views

app_name = "devices"

urlpatterns = [
    path("claim/", views.claim, name="claim"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<str:token_id>/disable/", views.disable_token, name="token-disable"),
]

# Packs: /dashboard/packs/…
urlpatterns += [
    path("packs/", pack_views.pack_list, name="packs"),
    path("packs/<str:pack_id>/", pack_views.pack_detail, name="pack"),
    path("packs/<str:pack_id>/settings/", pack_views.pack_settings, name="pack-settings"),
    path("packs/<str:pack_id>/delete/", pack_views.pack_delete, name="pack-delete"),
    path("packs/<str:pack_id>/followers/", pack_views.follower_add, name="pack-follow"),
    path(
        "packs/<str:pack_id>/followers/<str:device_id>/remove/",
        pack_views.follower_remove,
        name="pack-unfollow",
    ),
    path(
        "packs/<str:pack_id>/rollouts/<str:rollout_id>/<str:action>/",
        pack_views.rollout_action,
        name="pack-rollout-action",
    ),
]
