"""Create the demo user and the admin that `make run` prints, once."""

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

DEMO = ("demo", "demo@trailhub.local", "trailhub-demo")
ADMIN = ("admin", "admin@trailhub.local", "trailhub-admin")


class Command(BaseCommand):
    help = "Create a demo user and an admin (idempotent) and print their credentials."

    def handle(self, *args, **options):
        User = get_user_model()
        for (nick, email, default_password), staff in ((DEMO, False), (ADMIN, True)):
            password = os.environ.get(f"TRAILHUB_{nick.upper()}_PASSWORD", default_password)
            user, created = User.objects.get_or_create(
                username=nick,
                defaults={"email": email, "is_staff": staff, "is_superuser": staff},
            )
            if created:
                user.set_password(password)
                user.save()
                self.stdout.write(f"  {nick:6} password: {password}   (created)")
            else:
                self.stdout.write(f"  {nick:6} exists (password unchanged)")
