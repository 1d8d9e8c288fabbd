"""Create the demo user and the admin that `make run` prints, once; `--reset` gives
them their first password again."""

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

DEMO = ("demo", "demo@trailhub.local", "trailhub-demo")
ADMIN = ("admin", "admin@trailhub.local", "trailhub-admin")
RESET = ".venv/bin/python manage.py demo --reset"


class Command(BaseCommand):
    help = (
        "Create a demo user and an admin (idempotent) and print their credentials; "
        "--reset sets their passwords again (TRAILHUB_DEMO_PASSWORD, TRAILHUB_ADMIN_PASSWORD "
        "or the defaults)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--reset", action="store_true", help="set the passwords of existing accounts again"
        )

    def handle(self, *args, reset: bool = False, **options) -> None:
        User = get_user_model()
        kept = []
        for (nick, email, default_password), staff in ((DEMO, False), (ADMIN, True)):
            password = os.environ.get(f"TRAILHUB_{nick.upper()}_PASSWORD", default_password)
            user, created = User.objects.get_or_create(
                username=nick,
                defaults={"email": email, "is_staff": staff, "is_superuser": staff},
            )
            if created or reset:
                user.set_password(password)
                user.save()
                done = "created" if created else "reset"
                self.stdout.write(f"  {nick:6} password: {password}   ({done})")
            else:
                kept.append(f"{nick}'s to {password}")
                self.stdout.write(f"  {nick:6} exists (password unchanged)")
        if kept:
            # Only a hash is stored: a password can be set again, never shown.
            self.stdout.write(f"  Forgotten? `{RESET}` sets {' and '.join(kept)}.")
