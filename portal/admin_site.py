"""The admin site: Django's, with the site's login rules.

* Its login form counts failures as the other logins do (portal/limits.py), and an
  account with two-factor login goes on from it to the code page, as from the site's.
* With ``ADMIN_REQUIRE_2FA`` set, only a session verified by a second factor is let
  in (django-otp's ``is_verified()``, as its ``OTPAdminSite`` asks): staff logged in
  with a password alone are asked for a code, or sent to set an authenticator up.
"""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache

from portal import two_factor
from portal.forms import AdminLoginForm
from portal.views import second_step


class AdminSite(admin.AdminSite):
    login_form = AdminLoginForm

    def has_permission(self, request) -> bool:
        if not super().has_permission(request):
            return False
        return not settings.ADMIN_REQUIRE_2FA or request.user.is_verified()

    @method_decorator(never_cache)
    def login(self, request, extra_context=None):
        user = request.user
        next_url = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index")
        if user.is_active and user.is_staff and not self.has_permission(request):
            # Staff, logged in with a password alone, and ADMIN_REQUIRE_2FA is set.
            if two_factor.is_enabled(user):
                verify = reverse("login-verify")
                return redirect(f"{verify}?{urlencode({REDIRECT_FIELD_NAME: next_url})}")
            messages.warning(
                request,
                "The admin asks for two-factor login: set up an authenticator app here, "
                "then go back to the admin.",
            )
            return redirect("two-factor-setup")
        response = super().login(request, extra_context)
        form = getattr(response, "context_data", {}).get("form")
        if form is None:
            return response
        # The admin's LoginView puts the checked ?next= (or the admin's index) in its context.
        return second_step(request, form, response.context_data["next"]) or response
