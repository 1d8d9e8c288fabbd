"""Forms of the device pages. Each hands its data to the devices or revisions services."""

from __future__ import annotations

import json

from django import forms

from community import services as community_services
from devices import services as device_services
from portal.errors import DomainError, add_to_form
from portal.models import nick_validator
from portal.parsers import loads


class DeviceSettingsForm(forms.Form):
    nick = forms.CharField(
        max_length=63,
        validators=[nick_validator],
        help_text="The device's name in its address: /u/your-nick/device-nick/.",
    )
    description = forms.CharField(
        max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    public = forms.BooleanField(
        required=False,
        help_text="Anyone can see a public device's page, revisions and objects, and fork it.",
    )
    require_signatures = forms.BooleanField(
        required=False,
        label="Require signatures",
        help_text="Accept only revisions whose every part is signed by a signer you trust"
        " (Account › Signing keys); trail-agent checks them again before it installs.",
    )

    def __init__(self, *args, device, **kwargs):
        self.device = device
        kwargs.setdefault(
            "initial",
            {
                "nick": device.nick,
                "description": device.description,
                "public": device.public,
                "require_signatures": device.require_signatures,
            },
        )
        super().__init__(*args, **kwargs)

    def save(self):
        """The updated device, or None with the service's reason on the form."""
        try:
            return device_services.update_device(self.device, **self.cleaned_data)
        except DomainError as exc:
            add_to_form(self, exc)
        return None


class DeleteDeviceForm(forms.Form):
    confirm = forms.CharField(label="Type the device's nick to confirm", max_length=63)

    def __init__(self, *args, device, **kwargs):
        self.device = device
        super().__init__(*args, **kwargs)

    def clean_confirm(self):
        if self.cleaned_data["confirm"] != self.device.nick:
            raise forms.ValidationError(f"Type {self.device.nick} to delete this device.")
        return self.cleaned_data["confirm"]


class UserMetaForm(forms.Form):
    """The whole user-meta as a JSON object; saving replaces it (like ``PUT``)."""

    user_meta = forms.CharField(
        label="User-meta",
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
        help_text="A JSON object. The device reads it; saving replaces the whole object.",
    )

    def __init__(self, *args, device, **kwargs):
        self.device = device
        initial = {"user_meta": json.dumps(device.user_meta, indent=2, ensure_ascii=False)}
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)

    def clean_user_meta(self):
        raw = self.cleaned_data["user_meta"].strip() or "{}"
        try:
            value = loads(raw)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("User-meta must be a JSON object: {…}.")
        return value

    def save(self) -> dict | None:
        try:
            return device_services.write_meta(
                self.device, "user_meta", self.cleaned_data["user_meta"], merge=False
            )
        except DomainError as exc:
            add_to_form(self, exc, "user_meta")
        return None


NEW_DEVICE = "new"


class ForkForm(forms.Form):
    """Where a fork goes: one of the user's devices, or a new device with no hardware yet."""

    target = forms.ChoiceField(label="Fork into", widget=forms.RadioSelect)
    nick = forms.CharField(
        label="New device's nick",
        max_length=63,
        required=False,
        help_text="For a new device: a template no hardware runs yet, that devices can follow.",
    )

    def __init__(self, *args, user, source, **kwargs):
        from devices.models import Device

        self.devices = {
            d.id: d for d in Device.objects.owned_by(user).exclude(id=source.id).order_by("nick")
        }
        kwargs.setdefault("initial", {"target": NEW_DEVICE, "nick": source.nick})
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [(NEW_DEVICE, "a new device")] + [
            (d.id, f"{d.nick} (as its next revision)") for d in self.devices.values()
        ]

    def clean(self):
        # One error, the right one: the nick only matters for a new device, so it is
        # checked only then (not when the target is one of yours, nor when it is invalid).
        data = super().clean()
        if data.get("target") != NEW_DEVICE or "nick" not in data:
            return data
        try:
            community_services.check_fork_nick(data["nick"])
        except DomainError as exc:
            add_to_form(self, exc, "nick")
        return data

    @property
    def into(self):
        """The chosen existing device, or None for a new one."""
        return self.devices.get(self.cleaned_data["target"])
