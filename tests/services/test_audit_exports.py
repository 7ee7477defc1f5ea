"""services.audit_exports: an export of the audit trail is itself audited, with the filters it was asked with."""
from __future__ import annotations

from sessions_app.models import AuditAction, AuditEvent
from sessions_app.services import audit_exports


def test_an_export_is_recorded_before_its_rows_are_read(auditor):
    rows = audit_exports.audit_csv_export(actor=auditor, events=AuditEvent.objects.order_by("-sequence"),
                                          filters={"action": "session_start"}, client_address="192.0.2.9")

    export = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert export.actor_username == "alice" and export.client_address == "192.0.2.9"
    assert export.details == {"export": "audit_csv", "filters": {"action": "session_start"}}
    lines = list(rows)
    assert lines[0].startswith("sequence,created_at,actor_username")
    assert len(lines) == 1 + AuditEvent.objects.count() and lines[1].startswith(f"{export.sequence},")
