"""Accounts."""

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models

from portal.ids import HexIdField

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

    @property
    def nick(self) -> str:
        return self.username

    @property
    def prn(self) -> str:
        return f"prn:::accounts:/{self.id}"
