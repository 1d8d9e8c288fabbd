"""Accounts."""

import json

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac

from portal import audit
from portal.ids import HexIdField
from trail import wire

NICK_RE = r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,62}$"
nick_validator = RegexValidator(
    NICK_RE,
    "A nick is 2-63 letters, digits, '.', '_' or '-', starting with a letter or digit.",
)


class User(AbstractUser):
    """A person with an account. The username is the public nick (`/u/<nick>/`)."""

    id = HexIdField(primary_key=True)
    username = models.CharField(
        "nick",
        max_length=63,
        unique=True,
        validators=[nick_validator],
        error_messages={"unique": "That nick is taken."},
    )
    bio = models.CharField(max_length=280, blank=True)
    # Raised by "log out everywhere": every token and session made before ends.
    # The database default lets code from before it (a rolling deploy) insert users.
    token_generation = models.PositiveIntegerField(default=0, db_default=0, editable=False)
    # Set by the person, with an authenticator confirmed (portal/two_factor.py): while it
    # is, two-factor login cannot be turned off.
    require_2fa = models.BooleanField(
        "require two-factor login",
        default=False,
        db_default=False,
        help_text="Keep two-factor login on: it cannot be turned off while this is ticked.",
    )

    @property
    def nick(self) -> str:
        return self.username

    @property
    def prn(self) -> str:
        return wire.account_prn(self.id)

    def token_stamp(self) -> str:
        """The ``ver`` claim of this account's tokens: it changes with the password
        (any way it is set) and with :meth:`log_out_everywhere`, and a token
        whose claim is not the current one is refused (portal/auth.py)."""
        value = f"{self.password}:{self.token_generation}"
        return salted_hmac("portal.User.token_stamp", value, algorithm="sha256").hexdigest()[:16]

    def log_out_everywhere(self) -> None:
        """End every API token (login, scoped and apps') and web session of this account
        (not its devices' tokens)."""
        type(self).objects.filter(pk=self.pk).update(
            token_generation=models.F("token_generation") + 1
        )
        self.api_tokens.all().delete()
        self.end_oauth_grants()
        self.refresh_from_db(fields=["token_generation"])
        audit.record("account.logout-everywhere", owner=self)

    def end_oauth_grants(self, application=None) -> None:
        """End what third-party apps hold of this account (portal/oauth.py): their access
        and refresh tokens and unused codes, of one ``application`` or of all."""
        from oauth2_provider.models import AccessToken, Grant, IDToken, RefreshToken

        for model in (RefreshToken, AccessToken, IDToken, Grant):
            rows = model.objects.filter(user=self)
            if application is not None:
                rows = rows.filter(application=application)
            rows.delete()

    def save(self, *args, **kwargs) -> None:
        # A new password ends what apps hold, as it ends login tokens (``ver``): someone
        # who had the old one could have authorised an app of their own.
        password_changed = self._password is not None and not self._state.adding
        super().save(*args, **kwargs)
        if password_changed:
            self.end_oauth_grants()

    def _get_session_auth_hash(self, secret=None) -> str:
        # Django ends a session whose hash is not the user's: with the generation
        # in it, "log out everywhere" ends the web sessions too. Generation 0
        # keeps Django's own hash, so sessions made before this change live on.
        digest = super()._get_session_auth_hash(secret=secret)
        if not self.token_generation:
            return digest
        value = f"{digest}:{self.token_generation}"
        return salted_hmac(
            "portal.User.session", value, secret=secret, algorithm="sha256"
        ).hexdigest()


class ApiToken(models.Model):
    """A named, scoped token a person makes for a script or CI (``POST /auth/tokens``).

    Only the SHA-256 of the token is kept; the token itself is shown once. It acts
    as its owner, within its scopes (portal/scopes.py), until it expires or is revoked.
    """

    id = HexIdField(primary_key=True)
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="The token's first characters.")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    time_created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-time_created"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="api_token_name_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def claims(self) -> dict:
        """What ``GET /auth/auth_status`` says of it, in a login token's terms."""
        return {
            "id": self.owner.prn,
            "prn": self.owner.prn,
            "nick": self.owner.username,
            "roles": "user",
            "type": "USER",
            "scopes": " ".join(self.scopes),
            "exp": int(self.expires_at.timestamp()),
            "orig_iat": int(self.time_created.timestamp()),
        }


class SigningKey(models.Model):
    """A signer its owner trusts (``/auth/signing-keys``, docs/signing.md).

    Either a public key or a CA certificate, kept as one PEM block with the
    SHA-256 of its SubjectPublicKeyInfo (``kind`` ``key`` or ``cert``), or
    another person whose own keys and certificates are trusted as they are
    now (``kind`` ``user``: revoking one of theirs revokes it here too). A
    private key is never stored.
    """

    KINDS = (("key", "public key"), ("cert", "CA certificate"), ("user", "another user's keys"))

    id = HexIdField(primary_key=True)
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="signing_keys")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=4, choices=KINDS)
    pem = models.TextField(blank=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    trusted_user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="trusted_by"
    )
    time_created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-time_created"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "fingerprint"],
                condition=~models.Q(fingerprint=""),
                name="signing_key_unique_per_owner",
            ),
            models.UniqueConstraint(
                fields=["owner", "trusted_user"],
                condition=models.Q(trusted_user__isnull=False),
                name="signing_user_unique_per_owner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class AuditEntry(models.Model):
    """One change in an owner's audit log (portal/audit.py): what, who, how, from where.

    ``person`` and ``token`` point at the actor while they exist; ``actor`` and
    ``token_name`` keep their names after they are gone. ``before`` and ``after``
    hold the changed fields, small and without secrets.
    """

    id = HexIdField(primary_key=True)
    time = models.DateTimeField(default=timezone.now, db_index=True)
    # No database constraints on the audit log's references: its rows are written inside
    # other transactions (a rollout that holds its pack's row), and a foreign key check
    # would take a share lock on the user that those transactions take in the other order
    # (a deadlock seen on PostgreSQL). Deletes still cascade, in the ORM.
    owner = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="audit_entries", db_constraint=False
    )
    action = models.CharField(max_length=40)
    actor_kind = models.CharField(max_length=10)
    actor = models.CharField(max_length=150)
    via = models.CharField(max_length=10, blank=True)
    person = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_acts",
        db_constraint=False,
    )
    token = models.ForeignKey(
        ApiToken,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    token_name = models.CharField(max_length=100, blank=True)
    address = models.CharField(max_length=64, blank=True)
    target = models.CharField(max_length=80, blank=True)
    target_name = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-time", "-id"]
        indexes = [models.Index(fields=["owner", "-time"], name="audit_owner_time")]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} by {self.actor}"

    @property
    def before_text(self) -> str:
        return "" if self.before is None else json.dumps(self.before, ensure_ascii=False)

    @property
    def after_text(self) -> str:
        return "" if self.after is None else json.dumps(self.after, ensure_ascii=False)
