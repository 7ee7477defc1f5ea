"""Check the audit trail: every link of the keyed chain, each segment with its key (AUDIT_CHAIN_KEY,
AUDIT_CHAIN_OLD_KEYS), and the table against the checkpoints written outside the database
(AUDIT_CHECKPOINT_PATH, or the files given with --checkpoints, e.g. lines collected from syslog).

Exits 0 when intact. Exits 1, naming the first bad event, when an event is missing, changed, signed with a
key that is not configured, or does not match a checkpoint, and when checkpoints record events beyond the
table's end (a removed tail or a truncated table).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_app.services import audit


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--checkpoints", action="append", type=Path, metavar="FILE",
                            help="a checkpoint file to compare with (repeatable); default AUDIT_CHECKPOINT_PATH")

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit.audit_chain_verify(checkpoint_paths=options["checkpoints"])
        for warning in report.warnings:
            self.stderr.write(self.style.WARNING(warning))
        self.stdout.write(_checkpoint_summary(report))
        if not report.ok:
            raise CommandError(f"Audit chain broken at event #{report.first_bad_sequence}: {report.problem} "
                               f"({report.checked} events before it are intact).")
        segments = f" in {len(report.key_ids)} key segments ({', '.join(report.key_ids)})" \
            if len(report.key_ids) > 1 else ""
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.checked} events verified{segments}."))


def _checkpoint_summary(report: audit.ChainReport) -> str:
    newest = report.newest_checkpoint
    if newest is None:
        return "No checkpoints compared: removed tail events or a truncated table cannot be detected."
    count = report.checkpoints_compared
    return (f"{count} checkpoint{'s' if count != 1 else ''} compared; the newest, of event #{newest.sequence}, "
            f"was written {newest.time}.")
