from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.exceptions import ValidationError

from portal import scopes, two_factor
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
        fields = ("email", "first_name", "last_name", "bio", "require_2fa")

    def clean_require_2fa(self):
        required = self.cleaned_data["require_2fa"]
        if required and not two_factor.is_enabled(self.instance):
            raise ValidationError(
                "Set up two-factor login first (an authenticator app), then require it."
            )
        return required


class LoginLimitMixin:
    """Failed logins on a page count as they do on the API (portal.limits.LoginLimits).

    A right password of an account with two-factor login is refused here too, with the
    code ``two_factor.SECOND_STEP``: the login views then ask for the second factor
    (portal.views.second_step) instead of logging in.
    """

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if two_factor.is_enabled(user):
            raise ValidationError(
                "Enter a code from your authenticator app.", code=two_factor.SECOND_STEP
            )

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


class CodeForm(forms.Form):
    """A code from the authenticator app (six digits) or, at login, a recovery code."""

    code = forms.CharField(
        max_length=32,
        strip=True,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )


class TurnOffTwoFactorForm(forms.Form):
    proof = forms.CharField(
        label="A current code, a recovery code or your password",
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ScopedTokenForm(forms.Form):
    """A new scoped token (portal/tokens.py): a name, its scopes, how long it lives."""

    LIFETIMES = [(7, "7 days"), (30, "30 days"), (90, "90 days"), (366, "a year")]

    name = forms.CharField(max_length=100, help_text="What it is for, e.g. ci-deploy.")
    scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in scopes.SCOPES],
        widget=forms.CheckboxSelectMultiple,
        help_text="A write scope covers the read of its resource.",
    )
    days = forms.TypedChoiceField(label="Expires in", choices=LIFETIMES, coerce=int, initial=30)


class SigningKeyForm(forms.Form):
    """A signer to trust (portal/signing_keys.py): a PEM, or another user's keys."""

    name = forms.CharField(max_length=100, help_text="Who or what signs with it, e.g. release CI.")
    pem = forms.CharField(
        label="Public key or CA certificate (PEM)",
        required=False,
        max_length=16_000,
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": "-----BEGIN PUBLIC KEY-----"}),
        help_text="One PUBLIC KEY or CERTIFICATE block. Never a private key.",
    )
    user = forms.CharField(
        label="Or trust a user's keys",
        required=False,
        max_length=63,
        help_text="Their nick: the keys and certificates they upload are trusted as they change.",
    )

    def clean(self):
        data = super().clean()
        if bool(data.get("pem", "").strip()) == bool(data.get("user", "").strip()):
            raise forms.ValidationError("Give either a PEM or a user's nick.")
        return data


class AppRegistrationForm(forms.Form):
    """An app of the person's own that may act for people who authorise it (portal/oauth.py)."""

    name = forms.CharField(
        max_length=100, help_text="People see it on the consent page, e.g. Fleet Reports."
    )
    redirect_uris = forms.CharField(
        label="Redirect URIs",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "https://app.example.com/callback"}),
        help_text="One a line: where people are sent back with the code, exactly as the app asks.",
    )

    def clean_redirect_uris(self) -> list[str]:
        return self.cleaned_data["redirect_uris"].split()
