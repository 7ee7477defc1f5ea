"""Exporting the audit trail: every export is itself audited, with the filters it was asked with."""
from __future__ import annotations

from collections.abc import Iterator, Mapping

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from sessions_app import exports
from sessions_app.models import AuditAction, AuditEvent
from sessions_app.services.audit import audit_event_record


def audit_csv_export(*, actor: AbstractBaseUser, events: QuerySet[AuditEvent], filters: Mapping[str, str],
                     client_address: str = "") -> Iterator[str]:
    """Record the export (an EXPORT event naming `filters`, as asked), then return the CSV lines of `events`
    (exports.audit_csv_rows: streamed, memory stays flat)."""
    audit_event_record(action=AuditAction.EXPORT, actor=actor, client_address=client_address,
                       details={"export": "audit_csv", "filters": dict(filters)})
    return exports.audit_csv_rows(events)
