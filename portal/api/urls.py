from portal.api import tokens, views
from portal.urlhelpers import api_path

urlpatterns = [
    *api_path("auth/login", views.LoginView.as_view(), name="api-login"),
    *api_path("auth/auth_status", views.AuthStatusView.as_view(), name="api-auth-status"),
    *api_path("auth/accounts", views.AccountsView.as_view(), name="api-accounts"),
    *api_path(
        "auth/logout-everywhere", views.LogoutEverywhereView.as_view(), name="api-logout-everywhere"
    ),
    *api_path("auth/tokens", tokens.TokensView.as_view(), name="api-tokens"),
    *api_path("auth/tokens/<str:api_token>", tokens.TokenView.as_view(), name="api-token"),
]
