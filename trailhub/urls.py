"""URLs: API paths at the root (the Pantahub wire), pages elsewhere (DESIGN.md)."""

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from oauth2_provider import views as oauth_views

from portal import views as accounts
from trailhub import views
from trailhub.metrics.views import metrics

oauth_urls = [
    path("authorize/", oauth_views.AuthorizationView.as_view(), name="authorize"),
    path("token/", oauth_views.TokenView.as_view(), name="token"),
    path("revoke/", oauth_views.RevokeTokenView.as_view(), name="revoke-token"),
]

urlpatterns = [
    # The API first: a device's poll (GET /trails/<id>/steps) is the commonest request.
    path("", include("revisions.api.urls")),
    path("", include("devices.api.urls")),
    path("", include("packs.api.urls")),
    path("", include("portal.api.urls")),
    path("", include("community.api.urls")),
    path("", include("webhooks.api.urls")),
    # Pages
    path("", views.home, name="home"),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/profile/", accounts.profile, name="profile"),
    path("accounts/tokens/", accounts.scoped_tokens, name="tokens"),
    path(
        "accounts/tokens/<str:api_token>/revoke/", accounts.revoke_scoped_token, name="token-revoke"
    ),
    path("accounts/apps/", accounts.authorised_apps, name="apps"),
    path("accounts/apps/registered/", accounts.registered_apps, name="registered-apps"),
    path(
        "accounts/apps/registered/<str:client_id>/delete/",
        accounts.delete_registered_app,
        name="registered-app-delete",
    ),
    path("accounts/apps/<str:client_id>/revoke/", accounts.revoke_app, name="app-revoke"),
    # OAuth 2.0 for third-party apps (portal/oauth.py): django-oauth-toolkit's
    # authorization (the consent page), token and revocation endpoints, nothing else of it.
    path("oauth/", include((oauth_urls, "oauth2_provider"))),
    path("accounts/signing-keys/", accounts.signing_keys_page, name="signing-keys"),
    path(
        "accounts/signing-keys/<str:key_id>/remove/",
        accounts.remove_signing_key,
        name="signing-key-remove",
    ),
    path("accounts/two-factor/", accounts.two_factor_overview, name="two-factor"),
    path("accounts/two-factor/setup/", accounts.two_factor_setup, name="two-factor-setup"),
    path(
        "accounts/two-factor/recovery-codes/",
        accounts.two_factor_recovery_codes,
        name="two-factor-recovery-codes",
    ),
    path("accounts/two-factor/off/", accounts.two_factor_off, name="two-factor-off"),
    path("accounts/audit/", accounts.audit_log, name="audit"),
    # Django's own, with the limits of portal/limits.py and a second factor where the
    # account has one; the rest of its set follows.
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/login/verify/", accounts.login_verify, name="login-verify"),
    path("accounts/password_reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/logout-everywhere/", accounts.logout_everywhere, name="logout-everywhere"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/", include("devices.urls")),
    path("dashboard/packs/", include("packs.urls")),
    path("dashboard/webhooks/", include("webhooks.urls")),
    path("admin/", admin.site.urls),
    # Browsers ask for it whatever the page links; the pages link the SVG too.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.ico"), permanent=True)),
    # Probes for load balancers and orchestrators (docs/deployment.md), no login.
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its setup script as a file: the CSP allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("", include("community.urls")),
]

handler404 = "trailhub.views.not_found"
handler500 = "trailhub.views.server_error"
