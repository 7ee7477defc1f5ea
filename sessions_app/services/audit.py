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
from django.db import transaction
from django.db.models import F
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
    values: dict[str, Any] = {name: getattr(event, name) for name in CHAINED_FIELDS}
    values["created_at"] = event.created_at.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


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

    Safe under concurrent writers on every database: the first statement bumps the chain head's sequence,
    which takes the head's row lock (PostgreSQL) or the write lock (SQLite) before the previous hash is read.
    """
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        if not AuditChainHead.objects.filter(pk=HEAD_ID).update(sequence=F("sequence") + 1):
            _create_head()
            AuditChainHead.objects.filter(pk=HEAD_ID).update(sequence=F("sequence") + 1)
        head = AuditChainHead.objects.select_for_update().get(pk=HEAD_ID)
        event = AuditEvent(
            sequence=head.sequence,
            created_at=timezone.now(),
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
            previous_hash=head.last_hash,
        )
        event.hash = chain_hash(head.last_hash, event)
        event.save()
        AuditChainHead.objects.filter(pk=HEAD_ID).update(last_hash=event.hash)
    return event


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
