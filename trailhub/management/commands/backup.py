"""``manage.py backup DIR``: the database, then the bytes of every object it names."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from trailhub.backups import BackupError, backup


class Command(BaseCommand):
    help = "Back the hub up into DIR (new or empty): the database, then its objects."

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)

    def handle(self, *args, folder: Path, **options):
        try:
            report = backup(folder)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"backed up the {report.database} database and {report.objects} objects"
            f" ({report.bytes} bytes) into {folder}"
        )
        if report.missing:
            self.stdout.write(
                f"{len(report.missing)} objects no revision named were garbage-collected"
                " during the backup; restore drops their rows"
            )
