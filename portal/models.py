"""Accounts."""

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils.crypto import salted_hmac

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
        """End every API token and web session of this account (not its devices' tokens)."""
        type(self).objects.filter(pk=self.pk).update(
            token_generation=models.F("token_generation") + 1
        )
        self.refresh_from_db(fields=["token_generation"])

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
