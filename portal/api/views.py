"""``/auth/…``: log in (users and devices), refresh, claims, sign up, log out everywhere."""

import time

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.guards import require_person
from portal.api.serializers import (
    AccountCreationSerializer,
    AccountSerializer,
    ClaimsSerializer,
    LoginSerializer,
    TokenSerializer,
)
from portal.api.throttles import SignupThrottle, TooManyTries
from portal.auth import JWTAuthentication, check_credentials, issue_anon_token, issue_token
from portal.limits import LoginLimits
from trail.wire import ANON_PRN


def is_anon_login(data) -> bool:
    """pvr's anonymous login: ``ANON_PRN`` as both username and password."""
    return (
        isinstance(data, dict)
        and data.get("username") == ANON_PRN
        and data.get("password") == ANON_PRN
    )


class LoginView(APIView):
    """``POST`` logs in with a nick (or a device prn) and password; ``GET`` refreshes."""

    authentication_classes = [JWTAuthentication]
    permission_classes = [AllowAny]

    def perform_authentication(self, request):
        # Authenticate lazily: a stale token in the header must not stop a login.
        pass

    @extend_schema(request=LoginSerializer, responses=TokenSerializer, auth=[])
    def post(self, request):
        if is_anon_login(request.data):
            # Not a failed login: pvr tries this first, then asks for credentials.
            return Response({"token": issue_anon_token(), "token_type": "bearer"})
        form = LoginSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        limits = LoginLimits(request, form.validated_data["username"])
        wait = limits.wait()
        if wait is not None:
            raise TooManyTries("failed logins", wait)
        subject = check_credentials(request._request, **form.validated_data)
        if subject is None:
            limits.record_failure()
            raise exceptions.AuthenticationFailed(
                "wrong username or password", code="bad-credentials"
            )
        return Response({"token": issue_token(subject), "token_type": "bearer"})

    @extend_schema(request=None, responses=TokenSerializer)
    def get(self, request):
        if not request.user.is_authenticated or request.auth is None:
            raise exceptions.NotAuthenticated("log in first: send a bearer token to refresh")
        orig_iat = int(request.auth.claims.get("orig_iat", 0))
        if time.time() - orig_iat > settings.JWT_REFRESH_WINDOW:
            raise exceptions.AuthenticationFailed(
                "token too old to refresh; log in again", code="token-expired"
            )
        return Response({"token": issue_token(request.user, orig_iat), "token_type": "bearer"})


class AuthStatusView(APIView):
    """The claims of the caller's token."""

    authentication_classes = [JWTAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=ClaimsSerializer)
    def get(self, request):
        return Response(request.auth.claims)


class LogoutEverywhereView(APIView):
    """``POST /auth/logout-everywhere``: end every token and web session of the caller's account.

    The token that asks is ended too; the account's devices keep theirs.
    """

    permission_classes = [AllowAny]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        require_person(request).log_out_everywhere()
        return Response(status=204)


class AccountsView(APIView):
    """``POST /auth/accounts``: sign up through the API."""

    permission_classes = [AllowAny]
    throttle_classes = [SignupThrottle]

    @extend_schema(request=AccountCreationSerializer, responses=AccountSerializer, auth=[])
    def post(self, request):
        form = AccountCreationSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return Response(AccountSerializer(form.save()).data)
