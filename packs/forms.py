"""Portal forms for packs: create or edit a pack, add a follower."""

from __future__ import annotations

from django import forms

from devices.models import Device
from packs.models import Pack, PackMember
from portal.models import nick_validator


class PackForm(forms.ModelForm):
    """A pack's nick, leader and rollout settings; the leader is one of the owner's devices."""

    nick = forms.CharField(max_length=63, validators=[nick_validator])

    class Meta:
        model = Pack
        fields = [
            "nick",
            "leader",
            "description",
            "canary_share",
            "wave_size",
            "failure_threshold",
            "wave_timeout",
            "require_signatures",
            "rule",
            "windows",
            "time_zone",
            "start_at",
        ]
        labels = {
            "canary_share": "Canary share (0–1)",
            "wave_size": "Devices per wave (0: all at once)",
            "failure_threshold": "Pause when a wave's failures are over (0–1)",
            "wave_timeout": "Wave timeout (seconds)",
            "require_signatures": "Require signatures",
            "rule": "Followers by rule (JSON; empty: picked by hand)",
            "windows": "Maintenance windows (JSON; empty: any time)",
            "time_zone": "Time zone of the windows",
            "start_at": "No wave before (UTC)",
        }
        help_texts = {
            "rule": 'e.g. {"tags": {"all": ["kiosk"]}, "arch": ["aarch64"], "pantavisor": ">=019"}',
            "windows": 'e.g. [{"days": ["mon", "tue"], "from": "22:00", "to": "04:00"}]',
        }
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "rule": forms.Textarea(attrs={"rows": 2}),
            "windows": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["leader"].queryset = Device.objects.owned_by(owner).order_by("nick")
        self.fields["leader"].help_text = "Its revisions go to the followers."
        for name in ("rule", "windows", "time_zone", "start_at"):
            self.fields[name].required = False  # left empty: by hand, any time, UTC

    def clean_windows(self):
        return self.cleaned_data["windows"] or []

    def clean_time_zone(self):
        return self.cleaned_data["time_zone"] or "UTC"

    def validate_unique(self) -> None:
        """Nick uniqueness per owner is the service's to check (with a clear message)."""


class FollowerForm(forms.Form):
    """One of the owner's devices that follows no pack yet."""

    device = forms.ModelChoiceField(queryset=Device.objects.none(), label="Add a follower")

    def __init__(self, *args, pack: Pack, **kwargs):
        super().__init__(*args, **kwargs)
        following = PackMember.objects.values("device_id")
        self.fields["device"].queryset = (
            Device.objects.owned_by(pack.owner)
            .exclude(id__in=following)
            .exclude(id=pack.leader_id)
            .order_by("nick")
        )
