from portal.api import audit, signing_keys, tokens, views
from portal.urlhelpers import api_path

urlpatterns = [
    *api_path("audit", audit.AuditView.as_view(), name="api-audit"),
    *api_path("auth/login", views.LoginView.as_view(), name="api-login"),
    *api_path("auth/auth_status", views.AuthStatusView.as_view(), name="api-auth-status"),
    *api_path("auth/accounts", views.AccountsView.as_view(), name="api-accounts"),
    *api_path(
        "auth/logout-everywhere", views.LogoutEverywhereView.as_view(), name="api-logout-everywhere"
    ),
    *api_path("auth/tokens", tokens.TokensView.as_view(), name="api-tokens"),
    *api_path("auth/tokens/<str:api_token>", tokens.TokenView.as_view(), name="api-token"),
    *api_path("auth/signing-keys", signing_keys.SigningKeysView.as_view(), name="api-signing-keys"),
    *api_path(
        "auth/signing-keys/<str:key_id>",
        signing_keys.SigningKeyView.as_view(),
        name="api-signing-key",
    ),
]
