"""Portal forms: claim a device, create a factory token."""

from django import forms
from django.http import Http404

from devices import services
from portal.errors import DomainError, add_to_form
from portal.parsers import loads


class ClaimForm(forms.Form):
    """A device id and the challenge it shows; ``claim`` makes the user its owner."""

    device_id = forms.CharField(
        label="Device id", max_length=64, help_text="24 hex characters, or the device's prn."
    )
    challenge = forms.CharField(
        max_length=64, help_text="Shown by the device, e.g. maple-river-42."
    )

    def claim(self, user):
        """The claimed device, or None with the reason added to the form's errors."""
        try:
            return services.claim_device(
                user, self.cleaned_data["device_id"], self.cleaned_data["challenge"]
            )
        except DomainError as exc:
            add_to_form(self, exc)
        except Http404:
            self.add_error("device_id", "No unclaimed device has this id.")
        return None


class AutoTokenForm(forms.Form):
    """A new factory auto-assign token, with the user-meta its devices start with."""

    description = forms.CharField(
        max_length=200, required=False, help_text="Where it is used, e.g. 'line 2, batch 7'."
    )
    default_user_meta = forms.CharField(
        label="Default user-meta",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": '{"site": "lab"}'}),
        help_text="A JSON object every device registered with this token starts with.",
    )

    def clean_default_user_meta(self):
        raw = self.cleaned_data["default_user_meta"].strip()
        if not raw:
            return {}
        try:
            value = loads(raw)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from None
        try:
            return services.check_meta(value, "Default user-meta")
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None

    def create(self, user):
        """``(token, raw)``: the raw token is for showing once."""
        return services.create_auto_token(
            user, self.cleaned_data["description"], self.cleaned_data["default_user_meta"]
        )
