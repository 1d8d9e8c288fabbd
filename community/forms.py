"""Forms of the device pages. Each hands its data to the devices or revisions services."""

from __future__ import annotations

import json
import re

from django import forms
from django.db.models import F

from community import fleet
from community import services as community_services
from community.models import Fork
from community.querysets import MAX_QUERY
from devices import services as device_services
from devices import signing
from devices.models import PUBLIC_FACTS, Device
from packs.models import Pack
from portal.errors import DomainError, add_to_form
from portal.ids import is_id
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
    public_facts = forms.MultipleChoiceField(
        label="Show on the public pages",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="What the device reports about itself (its device-meta) that anyone who"
        " can see the device may read, on its page and its card. Nothing else of the"
        " device-meta is shown to anyone but you.",
    )
    tags = forms.CharField(
        required=False,
        max_length=4000,
        help_text="Your labels, separated by spaces or commas (letters, digits and . _ : -):"
        " your dynamic packs take the devices their rule names by them.",
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
                "public_facts": device.public_facts,
                "require_signatures": device.require_signatures,
                "tags": " ".join(device.tags),
            },
        )
        super().__init__(*args, **kwargs)
        reported = dict(device.facts(names=list(PUBLIC_FACTS)))  # published or not: yours
        others = [why for why in signing.required_by(device) if why != signing.OWN]
        if others:
            # A pack's rule holds whatever this box says (docs/signing.md).
            self.fields["require_signatures"].help_text += f" Required anyway: {'; '.join(others)}."
        self.fields["public_facts"].choices = [
            (name, f"{label}: {reported.get(label, 'not reported yet')} ({key})")
            for name, (label, key) in PUBLIC_FACTS.items()
        ]

    def clean_tags(self) -> list[str]:
        """The words typed, as a list: update_device checks and normalises them."""
        return [word for word in re.split(r"[\s,]+", self.cleaned_data["tags"]) if word]

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


class ProposeForm(forms.Form):
    """A revision of one of the user's devices, proposed to a device they may see."""

    source = forms.ChoiceField(label="Propose from")
    rev = forms.IntegerField(
        label="Revision",
        min_value=0,
        required=False,
        help_text="Empty: the device's newest revision.",
    )
    title = forms.CharField(max_length=200)
    body = forms.CharField(
        label="Why", required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 6})
    )

    def __init__(self, *args, user, target, **kwargs):
        from devices.models import Device

        owned = Device.objects.owned_by(user).exclude(id=target.id)
        self.devices = {d.id: d for d in owned.filter(trail__head_rev__gte=0).order_by("nick")}
        # The user's fork of the target first: what one usually proposes back.
        forks = Fork.objects.filter(device_id__in=list(self.devices), source_device=target)
        fork = forks.order_by("-time_created").values_list("device_id", flat=True).first()
        if fork is not None and "initial" not in kwargs:
            kwargs["initial"] = {"source": fork}
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = [(d.id, d.nick) for d in self.devices.values()]

    @property
    def device(self):
        return self.devices[self.cleaned_data["source"]]


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment", max_length=10_000, widget=forms.Textarea(attrs={"rows": 4})
    )


# --- The dashboard's fleet ----------------------------------------------------------------


def _choices(values, labels: dict | None = None) -> list[tuple[str, str]]:
    return [(value, (labels or {}).get(value, value)) for value in values]


class FleetFilterForm(forms.Form):
    """The dashboard's filters, from its query string (``community.fleet`` applies them).

    A search longer than the pages take is cut, as explore does; any other value
    that is not one of the choices is left out of :meth:`filters`, and the form
    says why.
    """

    q = forms.CharField(
        label="Search",
        required=False,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "nick, id or device-meta", "maxlength": 100}
        ),
    )
    status = forms.ChoiceField(
        label="Newest revision",
        required=False,
        choices=[("", "any status")] + _choices(fleet.STATUSES, {fleet.NONE: "no revisions yet"}),
    )
    presence = forms.ChoiceField(
        label="Presence",
        required=False,
        choices=[("", "any")] + _choices(fleet.PRESENCES),
    )
    pack = forms.ChoiceField(label="Pack", required=False)
    visibility = forms.ChoiceField(
        label="Visibility",
        required=False,
        choices=[("", "any")] + _choices(fleet.VISIBILITIES),
    )
    sort = forms.ChoiceField(
        label="Sort by",
        required=False,
        choices=[("", "nick"), ("seen", "last seen")],
    )

    def __init__(self, data, *, packs: list[Pack]):
        data = data.copy()
        if "q" in data:
            data["q"] = data["q"][:MAX_QUERY]
        super().__init__(data)
        self.fields["pack"].choices = [("", "any pack"), (fleet.NONE, "in no pack")] + [
            (pack.id, pack.nick) for pack in packs
        ]

    def filters(self) -> dict:
        """The filters to apply: those given and valid."""
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value}


#: The most devices one bulk action takes (a page holds 50).
MAX_SELECTED = 500

FLEET_ACTIONS = {
    "pack": "Add to pack",
    "public": "Make public",
    "private": "Make private",
}


class DeviceIdsField(forms.Field):
    """The ids of the devices ticked on the dashboard, each once, in order."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": "Select at least one device.",
        "too_many": f"Select at most {MAX_SELECTED} devices at a time.",
    }

    def to_python(self, value) -> list[str]:
        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        return list(dict.fromkeys(str(item).strip() for item in value))

    def validate(self, value) -> None:
        super().validate(value)
        if len(value) > MAX_SELECTED:
            raise forms.ValidationError(self.error_messages["too_many"], code="too_many")


class FleetActionForm(forms.Form):
    """A bulk action on devices selected on the dashboard: add them to one of the person's
    packs, make them public, or make them private.

    Every device must be the person's own and the pack theirs, or the form is
    invalid and nothing changes. ``confirmed`` is set by the confirmation page;
    ``back`` is the dashboard's query string (its filters and page), to return to.
    """

    action = forms.ChoiceField(label="With the selected devices", choices=FLEET_ACTIONS.items())
    pack = forms.ChoiceField(
        label="Pack",
        required=False,
        error_messages={"invalid_choice": "That is not one of your packs. Nothing was changed."},
    )
    device = DeviceIdsField()
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)
    back = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)

    def __init__(self, *args, user, packs: list[Pack], **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        self.fields["pack"].choices = [("", "choose a pack…")] + [
            (pack.id, pack.nick) for pack in packs
        ]

    def clean_device(self) -> list[Device]:
        ids = self.cleaned_data["device"]
        owned = Device.objects.owned_by(self.user).filter(id__in=[i for i in ids if is_id(i)])
        found = {
            device.id: device
            for device in owned.select_related("owner").annotate(
                follows_pack_id=F("pack_membership__pack")
            )
        }
        missing = [i for i in ids if i not in found]
        if missing:
            listed = ", ".join(missing[:5]) + (
                f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            )
            raise forms.ValidationError(
                f"Not one of your devices: {listed}. You can only change your own devices;"
                " nothing was changed.",
                code="not-your-device",
            )
        return [found[i] for i in ids]

    def clean(self):
        data = super().clean()
        if data.get("action") != "pack":
            data["pack"] = None
        elif "pack" in data:  # valid: one of the person's packs, or none chosen
            if not data["pack"]:
                self.add_error("pack", "Choose the pack to add the devices to.")
            else:
                data["pack"] = (
                    Pack.objects.visible_to(self.user)
                    .select_related("leader", "owner")
                    .filter(id=data["pack"])
                    .first()
                )
                if data["pack"] is None:  # deleted since the page was shown
                    self.add_error("pack", self.fields["pack"].error_messages["invalid_choice"])
        return data
