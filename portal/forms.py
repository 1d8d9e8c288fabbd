from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.exceptions import ValidationError

from portal.limits import LoginLimits, wait_text


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=True, help_text="For password resets.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")
        labels = {"username": "Nick"}

    def clean_email(self):
        email = self.cleaned_data["email"]
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with that email exists.")
        return email


class ProfileForm(forms.ModelForm):
    class Meta:
        model = get_user_model()
        fields = ("email", "first_name", "last_name", "bio")


class LoginLimitMixin:
    """Failed logins on a page count as they do on the API (portal.limits.LoginLimits)."""

    def clean(self):
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if self.request is None or username is None or not password:
            return super().clean()
        limits = LoginLimits(self.request, username)
        wait = limits.wait()
        if wait is not None:
            raise ValidationError(
                f"Too many failed logins; try again {wait_text(wait)}.", code="throttled"
            )
        try:
            return super().clean()
        except ValidationError as error:
            if error.code == "invalid_login":
                limits.record_failure()
            raise


class LoginForm(LoginLimitMixin, AuthenticationForm):
    pass


class AdminLoginForm(LoginLimitMixin, AdminAuthenticationForm):
    pass
