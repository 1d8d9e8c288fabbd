"""The kernel's own signal listeners: what the audit log records of an account's row."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from portal import audit
from portal.models import User


@receiver(post_save, sender=User)
def password_changed(sender, instance: User, created: bool, **kwargs) -> None:
    """A password set on an account that existed: changed on the page, reset, set in the
    admin or by ``manage.py changepassword``. (``set_password`` keeps the new one in
    ``_password`` until the row is saved; Django clears it after this signal.)"""
    if not created and instance._password is not None:
        audit.record("account.password", owner=instance)
