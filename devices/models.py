"""Devices: accounts for hardware (or hardware-less templates), their metadata and logs."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from devices.querysets import DeviceLogQuerySet, DeviceQuerySet
from portal import auth
from portal.ids import HexIdField
from trail import wire

CHALLENGE_WORDS = (
    "amber", "birch", "cedar", "delta", "ember", "fjord", "grove", "harbor", "iris", "juniper",
    "kestrel", "lagoon", "maple", "nectar", "opal", "pine", "quartz", "raven", "sierra", "tundra",
    "umber", "violet", "willow", "yarrow", "zephyr", "alpine", "basil", "cobalt", "dune", "echo",
    "falcon", "glacier", "hazel", "indigo", "jasper", "koala", "lotus", "meadow", "nova", "orchid",
    "pebble", "quill", "river", "saffron", "thistle", "upland", "vale", "walnut", "xenon", "yonder",
)  # fmt: skip


def new_challenge() -> str:
    """A short challenge a person can read off a console and type: ``maple-river-42``."""
    words = [secrets.choice(CHALLENGE_WORDS) for _ in range(2)]
    return f"{words[0]}-{words[1]}-{secrets.randbelow(100):02d}"


def new_secret() -> str:
    return secrets.token_urlsafe(24)


NICK_ADJECTIVES = (
    "agile", "amber", "brave", "bright", "calm", "clever", "cosmic", "crisp", "dapper", "eager",
    "fabled", "fancy", "flaxen", "fleet", "gentle", "glad", "golden", "hardy", "humble", "jolly",
    "keen", "lively", "lucky", "mellow", "merry", "misty", "nimble", "noble", "plucky", "polite",
    "proud", "quick", "quiet", "rapid", "rustic", "shiny", "silent", "snowy", "spry", "steady",
    "sturdy", "sunny", "swift", "tidy", "topaz", "vivid", "wandering", "witty", "young", "zesty",
)  # fmt: skip
NICK_ANIMALS = (
    "alpaca", "badger", "beaver", "bison", "bobcat", "caribou", "cheetah", "condor", "coyote",
    "crane", "dingo", "dolphin", "eagle", "falcon", "ferret", "finch", "gazelle", "gecko", "heron",
    "ibex", "jackal", "jaguar", "koala", "lemur", "lynx", "magpie", "marmot", "marten", "mink",
    "moose", "narwhal", "ocelot", "osprey", "otter", "owl", "panda", "pelican", "puffin", "quokka",
    "raven", "robin", "salmon", "seal", "sparrow", "stoat", "tapir", "toucan", "walrus", "wombat",
    "yak",
)  # fmt: skip


def new_nick() -> str:
    """A readable device nick such as ``flaxen-otter`` (not yet checked for uniqueness)."""
    return f"{secrets.choice(NICK_ADJECTIVES)}-{secrets.choice(NICK_ANIMALS)}"


def hash_token(raw: str) -> str:
    """The stored form of an auto-assign token.

    Tokens are 256 random bits, so a fast digest is enough: there is nothing to
    brute-force, and registration looks tokens up by this value.
    """
    return hashlib.sha256(raw.encode()).hexdigest()


def _secret_digest(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}${secret}".encode()).hexdigest()


#: Facts a device reports in its device-meta that its owner may show on the public pages
#: (explore's cards, the device page): name -> (label, device-meta key, as Pantavisor
#: writes it). Nothing else of the device-meta is ever shown to anyone but the owner.
PUBLIC_FACTS = {
    "board": ("Board", "pantavisor.dtmodel"),
    "arch": ("Architecture", "pantavisor.arch"),
}
#: A fact longer than this is cut: it is a label on a card, not a document.
FACT_MAX_LENGTH = 80
#: The facts a dynamic pack's rule may test (docs/packs.md): name -> device-meta key.
RULE_FACTS = {
    **{name: key for name, (_label, key) in PUBLIC_FACTS.items()},
    "pantavisor": "pantavisor.version",
}


class Device(models.Model):
    """A device account. Its trail (revisions) has the same id.

    ``owner`` is empty until a user claims the device with its ``challenge``.
    ``has_hardware`` is False for a device created from the portal or by a fork,
    which no real device runs yet (a template others can follow).
    ``require_signatures`` makes the hub refuse a revision that is not signed by a
    signer its owner trusts (revisions/services/steps.py), and trail-agent check it
    again before install.
    """

    id = HexIdField(primary_key=True)
    nick = models.CharField(max_length=63)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="devices",
    )
    secret_hash = models.CharField(max_length=128, blank=True)
    challenge = models.CharField(max_length=64, blank=True)
    public = models.BooleanField(default=False)
    has_hardware = models.BooleanField(default=True)
    require_signatures = models.BooleanField(
        default=False,
        help_text="Accept only revisions whose every key is signed by a signer the owner"
        " trusts (docs/signing.md).",
    )
    description = models.TextField(blank=True, max_length=4000)
    user_meta = models.JSONField(default=dict, blank=True)
    device_meta = models.JSONField(default=dict, blank=True)
    public_facts = models.JSONField(
        default=list,
        blank=True,
        help_text="Which PUBLIC_FACTS of the device-meta the owner shows on the public pages.",
    )
    tags = models.JSONField(
        default=list,
        blank=True,
        help_text="The owner's labels (devices/tags.py): what dynamic packs select by.",
    )
    time_created = models.DateTimeField(default=timezone.now, db_index=True)
    time_modified = models.DateTimeField(auto_now=True)
    last_seen = models.DateTimeField(null=True, blank=True)

    objects = DeviceQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "nick"], name="device_nick_unique_per_owner")
        ]
        indexes = [models.Index(fields=["public", "-time_modified"])]

    def __str__(self) -> str:
        return self.nick

    @property
    def prn(self) -> str:
        return wire.device_prn(self.id)

    def token_claims(self, orig_iat: int | None = None) -> dict:
        """The claims of this device's API tokens (portal.auth.issue_token)."""
        owner = self.owner.prn if self.owner_id else ""
        return auth.claims(self.prn, self.nick, "DEVICE", "device", orig_iat, owner=owner)

    def is_owned_by(self, user) -> bool:
        """True when ``user`` is the person who owns this device (never for a device)."""
        if self.owner_id is None or getattr(user, "is_device", False):
            return False
        return bool(getattr(user, "is_authenticated", False)) and user.pk == self.owner_id

    def is_itself(self, user) -> bool:
        """True when ``user`` is this very device (a DevicePrincipal for it)."""
        return getattr(user, "is_device", False) and user.device.id == self.id

    # Device secrets are machine-made random strings, not passwords a person
    # picked: a salted SHA-256 is enough, and a fleet logging in at once costs
    # microseconds each instead of PBKDF2's half a second of hub CPU.
    def set_secret(self, secret: str) -> None:
        salt = secrets.token_hex(8)
        self.secret_hash = f"sha256${salt}${_secret_digest(salt, secret)}"

    def check_secret(self, secret: str) -> bool:
        algorithm, _, rest = self.secret_hash.partition("$")
        salt, _, digest = rest.partition("$")
        return algorithm == "sha256" and hmac.compare_digest(digest, _secret_digest(salt, secret))

    def facts(self, names=None) -> list[tuple[str, str]]:
        """``(label, value)`` of the :data:`PUBLIC_FACTS` named (by default, those the
        owner publishes) that the device-meta holds as text, in PUBLIC_FACTS' order."""
        names = self.public_facts if names is None else names
        found = []
        for name, (label, key) in PUBLIC_FACTS.items():
            value = self.device_meta.get(key) if name in names else None
            if isinstance(value, str) and value.strip():
                found.append((label, value.strip()[:FACT_MAX_LENGTH]))
        return found

    def rule_facts(self) -> dict[str, str]:
        """The :data:`RULE_FACTS` the device-meta holds as text (whatever the owner
        publishes): what a dynamic pack's rule tests besides the tags."""
        found = {}
        for name, key in RULE_FACTS.items():
            value = self.device_meta.get(key)
            if isinstance(value, str) and value.strip():
                found[name] = value.strip()
        return found

    @property
    def online(self) -> bool:
        """Derived at read time from ``last_seen``: nothing depends on a periodic job."""
        if self.last_seen is None:
            return False
        age = (timezone.now() - self.last_seen).total_seconds()
        return age <= settings.DEVICE_ONLINE_WINDOW

    def mark_seen(self) -> None:
        """Note that the device made a request now (``last_seen``: devices/presence.py)."""
        from devices import presence

        presence.note(self.id)


AUTO_TOKEN_PREFIX = "thd_"


class AutoToken(models.Model):
    """A factory auto-assign token (``Pantahub-Devices-Auto-Token-V1``).

    A device that registers with it is owned by ``owner`` at birth and starts
    with ``default_user_meta``. Only the SHA-256 of the token is stored; the
    token itself is shown once, when it is created. ``prefix`` (its first
    characters) lets a person tell tokens apart.
    """

    id = HexIdField(primary_key=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="auto_tokens"
    )
    description = models.CharField(max_length=200, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=16, editable=False)
    default_user_meta = models.JSONField(default=dict, blank=True)
    disabled = models.BooleanField(default=False)
    time_created = models.DateTimeField(default=timezone.now)
    time_modified = models.DateTimeField(auto_now=True)
    last_used = models.DateTimeField(null=True, blank=True)
    use_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-time_created"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.description})" if self.description else f"{self.prefix}…"

    @property
    def prn(self) -> str:
        return f"prn:::devices-tokens:/{self.id}"

    @classmethod
    def generate(cls) -> tuple[str, str, str]:
        """A new raw token with its hash and visible prefix."""
        raw = AUTO_TOKEN_PREFIX + secrets.token_urlsafe(32)
        return raw, hash_token(raw), raw[: len(AUTO_TOKEN_PREFIX) + 6]


class DeviceLog(models.Model):
    """One log line a device posted (``POST /logs/``).

    ``time`` is when the device says the line was written (``tsec``/``tnano``),
    or when it arrived if the device gave no time; ``time_created`` is always
    the arrival. Retention keeps the newest *arrivals* (highest ids) per device,
    so a device with a wrong clock cannot push its fresh lines out.
    """

    id = models.BigAutoField(primary_key=True)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="logs")
    time = models.DateTimeField()
    tsec = models.BigIntegerField()
    tnano = models.IntegerField(default=0)
    src = models.CharField(max_length=255, blank=True)
    lvl = models.CharField(max_length=32, blank=True)
    msg = models.TextField(blank=True)
    plat = models.CharField(max_length=255, blank=True)
    rev = models.CharField(max_length=64, blank=True)
    time_created = models.DateTimeField(default=timezone.now)

    objects = DeviceLogQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["device", "time", "id"], name="devicelog_device_time"),
            models.Index(fields=["device", "id"], name="devicelog_device_id"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id} {self.lvl} {self.msg[:60]}"

    @staticmethod
    def time_of(tsec: int, tnano: int) -> datetime:
        return datetime.fromtimestamp(tsec, tz=UTC).replace(microsecond=tnano // 1000)
