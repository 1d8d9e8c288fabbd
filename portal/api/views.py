"""``/auth/…``: log in (users and devices), refresh, claims, sign up, log out everywhere."""

import time

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.api.docs import (
    ACCOUNT_ID,
    ACCOUNT_PRN,
    TOKEN,
    answer_example,
    error_response,
    request_example,
    throttled,
)
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

    @extend_schema(
        summary="Log in",
        description=(
            "Trade a nick and password (a person) or a device's prn and secret (a device)"
            " for a bearer token; anyone may call it. A wrong pair is a 401"
            " `bad-credentials`; repeated failures are limited per address and account"
            " (429 `throttled` with `Retry-After`). pvr's anonymous login,"
            " `prn:pantahub.com:auth:/anon` as both username and password, is never"
            " limited and gets a token of type `ANON` that names nobody (public devices"
            " only): pvr tries it first and asks for credentials after."
        ),
        examples=[
            request_example({"username": "alice", "password": "correct horse battery staple"}),
            request_example(
                {
                    "username": "prn:::devices:/5f3c1e9a8b7d6c5e4f3a2b1c",
                    "password": "gxZDHxyBgUH_7iIKIA93RFnEfBO8fcMU",
                },
                "A device logs in",
            ),
            answer_example({"token": TOKEN, "token_type": "bearer"}),
        ],
        request=LoginSerializer,
        responses={200: TokenSerializer, **throttled("failed logins")},
        auth=[],
    )
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

    @extend_schema(
        summary="Refresh your token",
        description=(
            "A fresh token for the caller of a valid one (person or device), with the same"
            " `orig_iat`: sessions last `JWT_REFRESH_WINDOW` from the first login, then it"
            " is a 401 `token-expired` and the caller logs in again. Without a token, or"
            " with a token ended by a password change or logout-everywhere"
            " (`token-revoked`), it is a 401. pvr refreshes this way."
        ),
        examples=[answer_example({"token": TOKEN, "token_type": "bearer"})],
        request=None,
        responses=TokenSerializer,
    )
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

    @extend_schema(
        summary="Show your token's claims",
        description=(
            "The claims of the bearer token sent (a person's, a device's or pvr's anonymous"
            " one): who it names (`id`, `prn`, `nick`, `type`), its `scopes` and when it"
            " expires; an OAuth app's token (`tho_…`) names the app too (`app`). Without a"
            " valid token it is a 401."
        ),
        examples=[
            answer_example(
                {
                    "id": ACCOUNT_PRN,
                    "prn": ACCOUNT_PRN,
                    "nick": "alice",
                    "roles": "user",
                    "type": "USER",
                    "scopes": "prn:pantahub.com:apis:/base/all",
                    "exp": 1717175317,
                    "orig_iat": 1717171717,
                }
            )
        ],
        responses=ClaimsSerializer,
    )
    def get(self, request):
        return Response(request.auth.claims)


class LogoutEverywhereView(APIView):
    """``POST /auth/logout-everywhere``: end every token and web session of the caller's account.

    The token that asks is ended too; the account's devices keep theirs.
    """

    permission_classes = [AllowAny]

    @extend_schema(
        summary="Log out everywhere",
        description=(
            "End every token and web session of the caller's account, the token that asks"
            " included; the account's devices keep theirs. For a person only (a token or"
            " a web session): a device gets a 403 `person-only`, an anonymous caller a 401."
            " An ended token, and its refresh, is then a 401 `token-revoked`."
        ),
        request=None,
        responses={
            204: None,
            **error_response(
                "not logged in, or the token has ended",
                401,
                "not_authenticated",
                "log in first: send a bearer token",
            ),
        },
    )
    def post(self, request):
        require_person(request).log_out_everywhere()
        return Response(status=204)


class AccountsView(APIView):
    """``POST /auth/accounts``: sign up through the API."""

    permission_classes = [AllowAny]
    throttle_classes = [SignupThrottle]

    @extend_schema(
        summary="Sign up",
        description=(
            "Create an account; anyone may call it, and sign-ups are limited per address"
            " (429 `throttled`). A nick or email already in use is a 400 naming the field"
            " (`nick-taken`, `email-taken`), as is a password the password rules refuse."
            " Log in with `POST /auth/login` afterwards."
        ),
        examples=[
            request_example(
                {
                    "nick": "alice",
                    "email": "alice@example.com",
                    "password": "correct horse battery staple",
                }
            ),
            answer_example(
                {
                    "id": ACCOUNT_ID,
                    "prn": ACCOUNT_PRN,
                    "nick": "alice",
                    "email": "alice@example.com",
                    "type": "USER",
                    "time-created": "2024-05-31T16:08:37.104Z",
                }
            ),
        ],
        request=AccountCreationSerializer,
        responses={200: AccountSerializer, **throttled("sign-ups")},
        auth=[],
    )
    def post(self, request):
        form = AccountCreationSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return Response(AccountSerializer(form.save()).data)
