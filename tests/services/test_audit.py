"""The audit writer and the hash chain: append-only, and any tampering is found."""
from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from sessions_app.models import AuditAction, AuditEvent, AuditOutcome
from sessions_app.services import audit
from sessions_app.services.audit import CHAINED_FIELDS, audit_chain_verify, audit_event_record


def record_some(count: int = 5) -> list[AuditEvent]:
    return [audit_event_record(action=AuditAction.SIGN_IN, actor_username=f"user{i}", reason=f"reason {i}",
                               details={"n": i}) for i in range(count)]


@pytest.mark.django_db
def test_events_form_a_chain():
    events = record_some(3)
    assert [e.sequence for e in events] == [1, 2, 3]
    assert events[0].previous_hash == audit.GENESIS_HASH
    assert events[1].previous_hash == events[0].hash
    assert audit_chain_verify().ok
    assert audit_chain_verify().checked == 3


@pytest.mark.django_db
def test_any_content_is_stored_as_given_and_hashed_as_verify_hashes_it(operator):
    tricky = 'Zoë\'s "mailbox"\n\\ 漢字 🙂 "created_at":"x" "sequence":1, \u2028'
    event = audit_event_record(action=AuditAction.SESSION_START, actor=operator, reason=tricky, scope=tricky,
                               ticket="INC-1", details={"nested": {"b": [1, 2.5, None, True], "a": tricky}})
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.sequence, stored.hash, stored.created_at) == (event.sequence, event.hash, event.created_at)
    assert stored.reason == stored.scope == tricky
    assert stored.details == {"nested": {"b": [1, 2.5, None, True], "a": tricky}}
    assert stored.actor_username == operator.username
    assert stored.hash == audit.chain_hash(stored.previous_hash, stored)
    assert audit_chain_verify().ok


@pytest.mark.django_db
def test_an_event_written_in_a_transaction_that_rolls_back_leaves_no_gap():
    record_some(1)
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            audit_event_record(action=AuditAction.SIGN_IN, actor_username="rolled back")
            raise RuntimeError("the caller's write failed")
    after = audit_event_record(action=AuditAction.SIGN_IN, actor_username="next")
    assert after.sequence == 2
    assert not AuditEvent.objects.filter(actor_username="rolled back").exists()
    assert audit_chain_verify().ok


@pytest.mark.django_db
def test_model_refuses_update_and_delete():
    event = record_some(1)[0]
    event.reason = "changed"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(reason="changed")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()


TAMPERED_VALUES: dict[str, Any] = {
    "created_at": lambda e: e.created_at + timedelta(seconds=1), "actor_id": lambda e: 999,
    "actor_username": lambda e: "mallory", "on_behalf_of_username": lambda e: "x", "action": lambda e: "sign_out",
    "outcome": lambda e: "failure", "organization_id": lambda e: "x", "organization_name": lambda e: "x",
    "workload": lambda e: "teams", "session_upstream_id": lambda e: "x", "reason": lambda e: "tampered",
    "scope": lambda e: "x", "ticket": lambda e: "x", "client_address": lambda e: "10.0.0.1",
    "details": lambda e: {"n": 42}, "sequence": lambda e: e.sequence + 100,
}


def _tamper(statement: str, params: list[Any]) -> None:
    """Tampering as someone with database access would do it, below the model's guards (and the trigger)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE sessions_app_auditevent DISABLE TRIGGER USER")
        cursor.execute(statement, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE sessions_app_auditevent ENABLE TRIGGER USER")


def _raw_update(event: AuditEvent, field: str, value: Any) -> None:
    column = AuditEvent._meta.get_field(field).column
    prepared = AuditEvent._meta.get_field(field).get_db_prep_save(value, connection)
    _tamper(f"UPDATE sessions_app_auditevent SET {column} = %s WHERE id = %s", [prepared, event.pk])


@pytest.mark.django_db
@pytest.mark.parametrize("field", CHAINED_FIELDS)
def test_tampering_with_any_field_of_any_event_is_detected(field):
    assert set(TAMPERED_VALUES) == set(CHAINED_FIELDS)
    events = record_some(4)
    for victim in (events[0], events[2], events[3]):
        _raw_update(victim, field, TAMPERED_VALUES[field](victim))
        report = audit_chain_verify()
        assert not report.ok
        if field != "sequence":  # a renumbered event shows up as a gap, named where the gap is found
            assert report.first_bad_sequence == victim.sequence
        _raw_update(victim, field, getattr(victim, field))
        assert audit_chain_verify().ok


@pytest.mark.django_db
def test_a_deleted_event_is_detected():
    events = record_some(4)
    _tamper("DELETE FROM sessions_app_auditevent WHERE id = %s", [events[1].pk])
    report = audit_chain_verify()
    assert report.first_bad_sequence == 3
    assert "missing" in report.problem


@pytest.mark.django_db
def test_the_newest_event_removed_is_detected():
    events = record_some(3)
    _tamper("DELETE FROM sessions_app_auditevent WHERE id = %s", [events[2].pk])
    assert audit_chain_verify().first_bad_sequence == 3


@pytest.mark.django_db
def test_audit_verify_command_names_the_first_bad_event(capsys):
    events = record_some(3)
    call_command("audit_verify")
    assert "3 events verified" in capsys.readouterr().out
    _raw_update(events[1], "reason", "rewritten")
    with pytest.raises(CommandError, match="#2"):
        call_command("audit_verify")


@pytest.mark.django_db
def test_postgresql_trigger_refuses_update_and_delete():
    if connection.vendor != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only")
    event = record_some(1)[0]
    for statement in ("UPDATE sessions_app_auditevent SET reason = 'x' WHERE id = %s",
                      "DELETE FROM sessions_app_auditevent WHERE id = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).reason == event.reason


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_the_chain_intact():
    def write(n: int) -> None:
        try:
            for i in range(10):
                audit_event_record(action=AuditAction.SIGN_IN, actor_username=f"w{n}-{i}",
                                   outcome=AuditOutcome.SUCCESS)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = audit_chain_verify()
    assert report.ok, report.problem
    assert report.checked == 40
