"""Dashboard pages under /dashboard/ (included from trailhub.urls)."""

from django.urls import path

from devices import views

app_name = "devices"

urlpatterns = [
    path("claim/", views.claim, name="claim"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<str:token_id>/disable/", views.disable_token, name="token-disable"),
]
