"""Migration 0006: the unkeyed chain of earlier releases is checked, then re-signed with AUDIT_CHAIN_KEY."""
from __future__ import annotations

import importlib
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from sessions_app.models import AuditEvent
from sessions_app.services import audit
from tests.database_roles import database_owner

migration = importlib.import_module("sessions_app.migrations.0006_audit_keyed_chain")
START = datetime(2026, 11, 30, 9, 15, 0, 123456, tzinfo=timezone.utc)


def unkeyed_chain(count: int, *, break_at: int | None = None) -> list[AuditEvent]:
    """Events as the previous release wrote them: SHA-256 links, no key id."""
    events, previous_hash = [], migration.GENESIS_HASH
    for sequence in range(1, count + 1):
        event = AuditEvent(sequence=sequence, created_at=START + timedelta(minutes=sequence), action="sign_in",
                           actor_username=f"user{sequence}", reason=f"reason {sequence}", details={"n": sequence},
                           previous_hash=previous_hash, key_id="")
        event.hash = previous_hash = migration.unkeyed_hash(previous_hash, event)
        if sequence == break_at:
            event.reason = "changed after it was linked"
        event.save(force_insert=True)
        events.append(event)
    return events


def run(step: Any) -> None:
    historical = MigrationLoader(connection).project_state(("sessions_app", "0006_audit_keyed_chain")).apps
    with database_owner() as owner, owner.schema_editor() as editor:
        step(historical, editor)


def test_the_unkeyed_link_is_the_one_earlier_releases_wrote():
    # Computed with the release before 0006 (services.audit.chain_hash of then).
    first = AuditEvent(sequence=1, created_at=START, actor_id=7, actor_username="olivia", action="session_start",
                       outcome="success", organization_id="8f3c", organization_name="Contoso", workload="exchange",
                       session_upstream_id="s-1", reason='INC-1: Zoë\'s "mailbox"', scope="mailbox", ticket="INC-1",
                       client_address="10.0.0.5", details={"point_in_time": "latest", "n": [1, 2.5, None]})
    second = AuditEvent(sequence=2, created_at=datetime(2026, 11, 30, 9, 16, tzinfo=timezone.utc), actor_id=None,
                        actor_username="", action="sign_in_failed", outcome="failure", details={})
    first_hash = migration.unkeyed_hash(migration.GENESIS_HASH, first)
    assert first_hash == "ebcfddcd5e8eaefc29b9cd7fc45272b9c5ecbe4bb848c050574947dbde5d002d"
    second_hash = migration.unkeyed_hash(first_hash, second)
    assert second_hash == "da719856712b06dbc978b2e59d620df7f503a88127c2834f098b5357e2c320f2"


@pytest.mark.django_db(transaction=True)
def test_an_intact_unkeyed_chain_is_re_signed_with_the_key(settings):
    old = unkeyed_chain(5)
    assert not audit.audit_chain_verify().ok  # unkeyed links no longer verify
    run(migration.resign_with_key)
    report = audit.audit_chain_verify()
    assert report.ok and report.checked == 5, report.problem
    stored = list(AuditEvent.objects.order_by("sequence"))
    assert {event.key_id for event in stored} == {audit.audit_key_id(settings.AUDIT_CHAIN_KEY)}
    assert [(e.reason, e.created_at) for e in stored] == [(e.reason, e.created_at) for e in old]
    assert audit.audit_event_record(action="sign_in", actor_username="next").sequence == 6
    assert audit.audit_chain_verify().ok


@pytest.mark.django_db(transaction=True)
def test_a_broken_unkeyed_chain_is_not_re_signed():
    unkeyed_chain(5, break_at=3)
    before = list(AuditEvent.objects.order_by("sequence").values_list("hash", "key_id"))
    with pytest.raises(migration.AuditChainBroken, match="event #3 does not match its link.*Refusing to re-sign"):
        run(migration.resign_with_key)
    assert list(AuditEvent.objects.order_by("sequence").values_list("hash", "key_id")) == before


@pytest.mark.django_db(transaction=True)
def test_a_chain_with_a_missing_event_is_not_re_signed():
    events = unkeyed_chain(4)
    with database_owner() as owner, owner.cursor() as cursor:
        if owner.vendor == "postgresql":
            cursor.execute("ALTER TABLE sessions_app_auditevent DISABLE TRIGGER USER")
        cursor.execute("DELETE FROM sessions_app_auditevent WHERE id = %s", [events[1].pk])
        if owner.vendor == "postgresql":
            cursor.execute("ALTER TABLE sessions_app_auditevent ENABLE TRIGGER USER")
    with pytest.raises(migration.AuditChainBroken, match="event #2 is missing"):
        run(migration.resign_with_key)


@pytest.mark.django_db(transaction=True)
def test_existing_events_need_the_key(settings):
    unkeyed_chain(1)
    settings.AUDIT_CHAIN_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="AUDIT_CHAIN_KEY is not set"):
        run(migration.resign_with_key)
