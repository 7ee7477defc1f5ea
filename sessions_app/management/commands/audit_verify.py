"""Check the audit trail's hash chain. Exits 0 when intact; otherwise names the first event that does not
match and exits 1."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sessions_app.services import audit


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit.audit_chain_verify()
        if not report.ok:
            raise CommandError(f"Audit chain broken at event #{report.first_bad_sequence}: {report.problem} "
                               f"({report.checked} events before it are intact).")
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.checked} events verified."))
