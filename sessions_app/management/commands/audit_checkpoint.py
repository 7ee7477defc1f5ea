"""Write a checkpoint of the audit chain's head now: its newest event's sequence, hash and key id, with the
time, appended to AUDIT_CHECKPOINT_PATH and sent to AUDIT_CHECKPOINT_SYSLOG when set. The portal writes one
every AUDIT_CHECKPOINT_EVERY events by itself; run this from cron too, so that a quiet trail is covered.

Exits 1 when the checkpoint cannot be written. Writes nothing while the trail is empty.
"""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from sessions_app.services import audit


class Command(BaseCommand):
    help = __doc__

    def handle(self, *args: Any, **options: Any) -> None:
        head = audit.audit_chain_head()
        if head is None:
            self.stdout.write("The audit trail is empty: no checkpoint written.")
            return
        try:
            checkpoint = audit.audit_checkpoint_write(head=head)
        except (OSError, ValueError) as exc:
            raise CommandError(f"Audit checkpoint not written: {exc}") from exc
        self.stdout.write(f"Checkpoint of event #{checkpoint.sequence} ({checkpoint.hash[:16]}…, key "
                          f"{checkpoint.key_id}) written at {checkpoint.time}.")
