"""The one audit writer, and the chain check.

Every event carries the hash of the one before it, over a canonical form of its fields, so that changing,
removing or reordering any event breaks the chain from that point on (`python manage.py audit_verify`).
No other code creates AuditEvent rows.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timezone as dt_timezone
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, transaction
from django.utils import timezone

from sessions_app.models import AuditAction, AuditChainHead, AuditEvent, AuditOutcome, Organization

GENESIS_HASH = "0" * 64
HEAD_ID = 1
# The fields covered by the hash, in the canonical form's order.
CHAINED_FIELDS = (
    "sequence", "created_at", "actor_id", "actor_username", "on_behalf_of_username", "action", "outcome",
    "organization_id", "organization_name", "workload", "session_upstream_id", "reason", "scope", "ticket",
    "client_address", "details",
)


def canonical_form(event: AuditEvent) -> bytes:
    values = _chained_values(event)
    values["created_at"] = event.created_at.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return _canonical_json(values).encode()


def _chained_values(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in CHAINED_FIELDS}


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain_hash(previous_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256(previous_hash.encode() + b"\n" + canonical_form(event)).hexdigest()


def audit_event_record(
    *,
    action: AuditAction,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    actor_username: str = "",
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
    organization: Organization | None = None,
    workload: str = "",
    session_upstream_id: str = "",
    reason: str = "",
    scope: str = "",
    ticket: str = "",
    on_behalf_of_username: str = "",
    client_address: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain and return it.

    Safe under concurrent writers on every database: bumping the chain head's sequence takes the head's row
    lock (PostgreSQL) or the write lock (SQLite) before the previous hash is read. On PostgreSQL the whole
    link is one server-side call. Inside a caller's transaction it adds no savepoint: the event commits, or
    rolls back, with the caller's writes; the head stays locked until that commit, so callers write their
    event last.
    """
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    event = AuditEvent(
        actor_id=user.pk if user is not None else None,
        actor_username=(user.get_username() if user is not None else actor_username)[:150],
        on_behalf_of_username=on_behalf_of_username[:150],
        action=action,
        outcome=outcome,
        organization_id=str(organization.upstream_id) if organization else "",
        organization_name=organization.name if organization else "",
        workload=workload,
        session_upstream_id=session_upstream_id,
        reason=reason,
        scope=scope,
        ticket=ticket[:128],
        client_address=client_address[:64],
        details=_jsonable(details or {}),
    )
    append = _append_in_server if connection.vendor == "postgresql" else _append_in_client
    with transaction.atomic(savepoint=False):
        if not append(event):
            _create_head()
            appended = append(event)
            assert appended, "the audit chain head could not be recreated"
    return event


def _append_in_client(event: AuditEvent) -> bool:
    """Link and insert `event` from here; False when the head row is gone."""
    head = _advance_head()
    if head is None:
        return False
    event.sequence, event.previous_hash = head
    event.created_at = timezone.now()
    event.hash = chain_hash(event.previous_hash, event)
    event.save(force_insert=True)
    AuditChainHead.objects.filter(pk=HEAD_ID).update(last_hash=event.hash)
    return True


def _advance_head() -> tuple[int, str] | None:
    """Bump the head's sequence and read it back in one statement (it locks the head); None if it is gone.

    Raw SQL because the ORM has no UPDATE … RETURNING; PostgreSQL and SQLite (3.35+) both have it.
    """
    table = connection.ops.quote_name(AuditChainHead._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET sequence = sequence + 1 WHERE id = %s RETURNING sequence, last_hash",
                       [HEAD_ID])
        row = cursor.fetchone()
    return (int(row[0]), str(row[1])) if row else None


def _append_in_server(event: AuditEvent) -> bool:
    """Link and insert `event` in one call of sessions_app_audit_append (migration 0005), which takes the
    head's lock, stamps, hashes and inserts inside PostgreSQL; False when the head row is gone."""
    columns = [getattr(event, name) for name in SERVER_APPEND_COLUMNS]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM sessions_app_audit_append({_SERVER_APPEND_PARAMETERS})",
                       [*_canonical_parts(event), *columns, _canonical_json(event.details)])
        row = cursor.fetchone()
    if row is None:
        return False
    event.pk, event.sequence, event.created_at, event.previous_hash, event.hash = row
    event._state.adding = False
    event._state.db = connection.alias
    return True


# The event's own columns that sessions_app_audit_append takes, in its parameters' order; details follow.
SERVER_APPEND_COLUMNS = (
    "actor_id", "actor_username", "on_behalf_of_username", "action", "outcome", "organization_id",
    "organization_name", "workload", "session_upstream_id", "reason", "scope", "ticket", "client_address",
)
# Typed, so that the call resolves whatever types the driver sends.
_SERVER_APPEND_PARAMETERS = ", ".join(["%s::text"] * 3 + ["%s::integer"] + ["%s::text"] * 12 + ["%s::jsonb"])
_CREATED_AT_MARK = "\x00created_at\x00"
_SEQUENCE_MARK = "\x00sequence\x00"


def _canonical_parts(event: AuditEvent) -> tuple[str, str, str]:
    """canonical_form(event) as text, cut where the server puts the created_at text and the sequence number:
    (up to the created_at value's opening quote, from its closing quote up to the sequence, after it)."""
    values = _chained_values(event)
    values["created_at"] = _CREATED_AT_MARK
    values["sequence"] = _SEQUENCE_MARK
    text = _canonical_json(values)
    created_at = f'"created_at":{_canonical_json(_CREATED_AT_MARK)}'
    sequence = f'"sequence":{_canonical_json(_SEQUENCE_MARK)}'
    # Keys are unique and string values are escaped, so each marked pair occurs once, created_at first.
    before_created_at, rest = text.split(created_at)
    between, after_sequence = rest.split(sequence)
    return before_created_at + '"created_at":"', '"' + between + '"sequence":', after_sequence


def _create_head() -> None:
    """The migration creates the head; this recreates it (continuing from the newest event) if it is gone.
    Concurrent writers may all get here: one insert wins, the others wait for it and do nothing."""
    newest = AuditEvent.objects.order_by("-sequence").values_list("sequence", "hash").first()
    sequence, last_hash = newest if newest else (0, GENESIS_HASH)
    AuditChainHead.objects.bulk_create([AuditChainHead(pk=HEAD_ID, sequence=sequence, last_hash=last_hash)],
                                       ignore_conflicts=True)


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_bad_sequence: int | None
    problem: str

    @property
    def ok(self) -> bool:
        return self.first_bad_sequence is None


def audit_chain_verify(events: Iterable[AuditEvent] | None = None) -> ChainReport:
    """Walk the chain in sequence order; report the first event whose link or content does not match."""
    if events is None:
        events = AuditEvent.objects.order_by("sequence").iterator(chunk_size=2000)
    previous_hash = GENESIS_HASH
    expected_sequence = 1
    checked = 0
    for event in events:
        if event.sequence != expected_sequence:
            return ChainReport(checked, event.sequence,
                               f"expected event #{expected_sequence} here, found #{event.sequence} (events missing)")
        if event.previous_hash != previous_hash:
            return ChainReport(checked, event.sequence, "its previous-hash does not match the event before it")
        if event.hash != chain_hash(previous_hash, event):
            return ChainReport(checked, event.sequence, "its content does not match its hash (modified)")
        previous_hash = event.hash
        expected_sequence += 1
        checked += 1
    head = AuditChainHead.objects.filter(pk=HEAD_ID).first()
    if head is not None and head.last_hash != previous_hash and checked == head.sequence:
        return ChainReport(checked, checked, "the newest event does not match the chain head")
    if head is not None and head.sequence > checked:
        return ChainReport(checked, checked + 1, f"event #{checked + 1} and later are missing")
    return ChainReport(checked, None, "")


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    """Round-trip through JSON so that the hashed form equals what the database gives back."""
    return json.loads(json.dumps(details, default=str))
