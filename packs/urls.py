"""Pack pages under /dashboard/packs/ (included from trailhub.urls)."""

from django.urls import path

from packs import views

app_name = "packs"

urlpatterns = [
    path("", views.pack_list, name="list"),
    path("<str:pack_id>/", views.pack_detail, name="detail"),
    path("<str:pack_id>/settings/", views.pack_settings, name="settings"),
    path("<str:pack_id>/delete/", views.pack_delete, name="delete"),
    path("<str:pack_id>/followers/", views.follower_add, name="follow"),
    path(
        "<str:pack_id>/followers/<str:device_id>/remove/",
        views.follower_remove,
        name="unfollow",
    ),
    path(
        "<str:pack_id>/rollouts/<str:rollout_id>/<str:action>/",
        views.rollout_action,
        name="rollout-action",
    ),
]
