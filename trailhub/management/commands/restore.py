"""``manage.py restore DIR``: a backup into a new database and an object store."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from trailhub.backups import BackupError, restore


class Command(BaseCommand):
    help = (
        "Restore a backup made by `manage.py backup` into this hub: its database must be"
        " new (no tables); objects already in the store are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)

    def handle(self, *args, folder: Path, **options):
        try:
            report = restore(folder)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"restored the {report.database} database and {report.objects} objects"
            f" ({report.bytes} bytes) from {folder}; run `manage.py migrate` if this"
            " release is newer than the backup"
        )
