"""The kernel's own signal listeners: what the audit log records of an account's row, and
of the apps a person allows (django-oauth-toolkit's rows)."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver
from oauth2_provider.models import Grant

from portal import audit
from portal.models import User


@receiver(post_save, sender=User)
def password_changed(sender, instance: User, created: bool, **kwargs) -> None:
    """A password set on an account that existed: changed on the page, reset, set in the
    admin or by ``manage.py changepassword``. (``set_password`` keeps the new one in
    ``_password`` until the row is saved; Django clears it after this signal.)"""
    if not created and instance._password is not None:
        audit.record("account.password", owner=instance)


@receiver(post_save, sender=Grant)
def app_authorised(sender, instance: Grant, created: bool, **kwargs) -> None:
    """A person allowed an app (the consent page, or an app they allowed before asking
    again): django-oauth-toolkit writes the authorization code as a Grant."""
    if created:
        audit.record(
            "app.authorise",
            owner=instance.user_id,
            target=instance.application,
            after={"app": instance.application.name, "scopes": instance.scope.split()},
        )
