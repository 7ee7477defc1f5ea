"""The audit writer and the keyed chain: append-only, and any tampering is found, also by someone who holds
the database (the owner's rights in these tests) but not the key."""
from __future__ import annotations

import json
import logging
import socket
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, transaction
from django.db.models import Field

from sessions_app.models import AuditAction, AuditEvent, AuditOutcome
from sessions_app.services import audit
from sessions_app.services.audit import CHAINED_FIELDS, audit_chain_verify, audit_event_record
from tests.database_roles import database_owner

OTHER_KEY = "another-audit-chain-key-for-rotation-tests-0123456789"


def record_some(count: int = 5, start: int = 0) -> list[AuditEvent]:
    return [audit_event_record(action=AuditAction.SIGN_IN, actor_username=f"user{i}", reason=f"reason {i}",
                               details={"n": i}) for i in range(start, start + count)]


def write_checkpoint() -> audit.Checkpoint:
    head = audit.audit_chain_head()
    assert head is not None
    return audit.audit_checkpoint_write(head=head)


def as_owner(*statements: tuple[str, list[Any]]) -> None:
    """Tampering as the tables' owner would: below the model's guards, the append-only trigger switched off."""
    with database_owner() as owner, owner.cursor() as cursor:
        postgresql = owner.vendor == "postgresql"
        if postgresql:
            cursor.execute("ALTER TABLE sessions_app_auditevent DISABLE TRIGGER USER")
        for statement, params in statements:
            cursor.execute(statement, params)
        if postgresql:
            cursor.execute("ALTER TABLE sessions_app_auditevent ENABLE TRIGGER USER")


def truncate() -> None:
    postgresql = connection.vendor == "postgresql"
    as_owner(("TRUNCATE sessions_app_auditevent" if postgresql else "DELETE FROM sessions_app_auditevent", []))


def raw_update(event: AuditEvent, **values: Any) -> None:
    fields = {name: AuditEvent._meta.get_field(name) for name in values}
    assert all(isinstance(field, Field) for field in fields.values())
    assignments = ", ".join(f"{field.column} = %s" for field in fields.values() if isinstance(field, Field))
    prepared = [field.get_db_prep_save(values[name], connection) for name, field in fields.items()
                if isinstance(field, Field)]
    as_owner((f"UPDATE sessions_app_auditevent SET {assignments} WHERE id = %s", [*prepared, event.pk]))


@pytest.mark.django_db
def test_events_form_a_chain_signed_with_the_key(settings):
    events = record_some(3)
    assert [e.sequence for e in events] == [1, 2, 3]
    assert events[0].previous_hash == audit.GENESIS_HASH
    assert events[1].previous_hash == events[0].hash
    assert {e.key_id for e in events} == {audit.audit_key_id(settings.AUDIT_CHAIN_KEY)}
    report = audit_chain_verify()
    assert report.ok and report.checked == 3


@pytest.mark.django_db
def test_any_content_is_stored_as_given_and_hashed_as_verify_hashes_it(operator, settings):
    tricky = 'Zoë\'s "mailbox"\n\\ 漢字 🙂 "created_at":"x" "sequence":1, \u2028'
    event = audit_event_record(action=AuditAction.SESSION_START, actor=operator, reason=tricky, scope=tricky,
                               ticket="INC-1", details={"nested": {"b": [1, 2.5, None, True], "a": tricky}})
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.sequence, stored.hash, stored.created_at) == (event.sequence, event.hash, event.created_at)
    assert stored.reason == stored.scope == tricky
    assert stored.details == {"nested": {"b": [1, 2.5, None, True], "a": tricky}}
    assert stored.actor_username == operator.username
    assert stored.hash == audit.chain_hash(stored.previous_hash, stored, key=settings.AUDIT_CHAIN_KEY)
    assert audit_chain_verify().ok


@pytest.mark.django_db
def test_without_a_key_nothing_is_recorded(settings):
    settings.AUDIT_CHAIN_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="AUDIT_CHAIN_KEY"):
        audit_event_record(action=AuditAction.SIGN_IN, actor_username="olivia")
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_an_event_written_in_a_transaction_that_rolls_back_leaves_no_gap():
    record_some(1)
    with pytest.raises(RuntimeError), transaction.atomic():
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
    "details": lambda e: {"n": 42}, "sequence": lambda e: e.sequence + 100, "key_id": lambda e: "0123456789abcdef",
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("field", CHAINED_FIELDS)
def test_tampering_with_any_field_of_any_event_is_detected(field):
    assert set(TAMPERED_VALUES) == set(CHAINED_FIELDS)
    events = record_some(4)
    for victim in (events[0], events[2], events[3]):
        raw_update(victim, **{field: TAMPERED_VALUES[field](victim)})
        report = audit_chain_verify()
        assert not report.ok
        assert report.first_bad_sequence == victim.sequence
        raw_update(victim, **{field: getattr(victim, field)})
        assert audit_chain_verify().ok


@pytest.mark.django_db(transaction=True)
def test_a_deleted_event_is_named():
    events = record_some(4)
    as_owner(("DELETE FROM sessions_app_auditevent WHERE id = %s", [events[1].pk]))
    report = audit_chain_verify()
    assert report.first_bad_sequence == 2
    assert "missing" in report.problem


@pytest.mark.django_db(transaction=True)
def test_an_event_rewritten_and_relinked_without_the_key_is_named(settings):
    """The issue's attack: change event 18's actor, recompute every later link with the project's own
    chain_hash. Without AUDIT_CHAIN_KEY the attacker can only guess a key, or use one of their own."""
    record_some(20)
    for guessed_key, key_id in ((settings.SECRET_KEY, None), ("", None), ("mallory's key", "mallory's key")):
        original = list(AuditEvent.objects.order_by("sequence"))
        previous_hash = original[16].hash
        updates = []
        for event in original[17:]:
            if event.sequence == 18:
                event.actor_username = "mallory"
            if key_id is not None:
                event.key_id = audit.audit_key_id(key_id)
            event.previous_hash = previous_hash
            event.hash = previous_hash = audit.chain_hash(previous_hash, event, key=guessed_key)
            updates.append(("UPDATE sessions_app_auditevent SET actor_username = %s, key_id = %s, previous_hash = %s, "
                            "hash = %s WHERE id = %s",
                            [event.actor_username, event.key_id, event.previous_hash, event.hash, event.pk]))
        as_owner(*updates)
        report = audit_chain_verify()
        assert report.first_bad_sequence == 18, report.problem
        assert "cannot be verified" in report.problem if key_id else "does not match its hash" in report.problem


@pytest.mark.django_db(transaction=True)
def test_a_removed_tail_is_named_by_the_checkpoints():
    events = record_some(5)
    write_checkpoint()
    as_owner(("DELETE FROM sessions_app_auditevent WHERE sequence >= %s", [4]))
    report = audit_chain_verify()
    assert report.first_bad_sequence == 4
    assert "ends at event #3" in report.problem and "#5" in report.problem
    assert report.checkpoints_compared == 1
    assert events[4].hash not in AuditEvent.objects.values_list("hash", flat=True)


@pytest.mark.django_db(transaction=True)
def test_a_truncated_table_is_found_whether_refilled_or_not(settings):
    settings.AUDIT_CHECKPOINT_EVERY = 1
    old = record_some(5)
    assert audit_chain_verify().checkpoints_compared == 5
    truncate()
    report = audit_chain_verify()
    assert (report.checked, report.first_bad_sequence) == (0, 1)
    assert "truncated" in report.problem

    # The old rows back, but for the last two.
    fields = [f for f in AuditEvent._meta.concrete_fields if f.column != "id"]
    insert = (f"INSERT INTO sessions_app_auditevent ({', '.join(str(f.column) for f in fields)}) "
              f"VALUES ({', '.join(['%s'] * len(fields))})")
    as_owner(*[(insert, [f.get_db_prep_save(getattr(event, f.attname), connection) for f in fields])
               for event in old[:3]])
    assert audit_chain_verify().first_bad_sequence == 4

    # A new chain from scratch: signed with the key, yet not the chain the checkpoints saw.
    truncate()
    record_some(2, start=100)
    report = audit_chain_verify()
    assert report.first_bad_sequence == 1
    assert "checkpoint" in report.problem


@pytest.mark.django_db(transaction=True)
def test_an_event_rewritten_with_the_key_is_named_by_a_checkpoint(settings):
    """Checkpoints also hold against someone who has the key and the owner's rights, up to the newest one."""
    events = record_some(4)
    checkpoint = write_checkpoint()
    previous_hash = events[0].hash
    updates = []
    for event in events[1:]:
        event.reason = "rewritten" if event.sequence == 2 else event.reason
        event.previous_hash = previous_hash
        event.hash = previous_hash = audit.chain_hash(previous_hash, event, key=settings.AUDIT_CHAIN_KEY)
        updates.append(("UPDATE sessions_app_auditevent SET reason = %s, previous_hash = %s, hash = %s WHERE id = %s",
                        [event.reason, event.previous_hash, event.hash, event.pk]))
    as_owner(*updates)
    report = audit_chain_verify()
    assert report.first_bad_sequence == checkpoint.sequence == 4
    assert "rewritten" in report.problem


@pytest.mark.django_db(transaction=True)
def test_postgresql_trigger_refuses_update_and_delete_even_to_the_owner():
    if connection.vendor != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only")
    event = record_some(1)[0]
    with database_owner() as owner:
        for statement in ("UPDATE sessions_app_auditevent SET reason = 'x' WHERE id = %s",
                          "DELETE FROM sessions_app_auditevent WHERE id = %s"):
            with pytest.raises(DatabaseError), transaction.atomic(using=owner.alias), owner.cursor() as cursor:
                cursor.execute(statement, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).reason == event.reason


@pytest.mark.django_db
def test_a_new_key_starts_a_segment_that_verify_checks_with_its_key(settings):
    first_key = settings.AUDIT_CHAIN_KEY
    record_some(2)
    settings.AUDIT_CHAIN_KEY, settings.AUDIT_CHAIN_OLD_KEYS = OTHER_KEY, [first_key]
    after = record_some(2, start=2)
    change = AuditEvent.objects.get(sequence=3)
    assert change.action == AuditAction.AUDIT_KEY_CHANGE
    assert change.details == {"previous_key_id": audit.audit_key_id(first_key), "key_id": audit.audit_key_id(OTHER_KEY)}
    assert change.key_id == after[0].key_id == audit.audit_key_id(OTHER_KEY)
    assert [e.sequence for e in after] == [4, 5]
    report = audit_chain_verify()
    assert report.ok, report.problem
    assert report.key_ids == (audit.audit_key_id(first_key), audit.audit_key_id(OTHER_KEY))

    settings.AUDIT_CHAIN_OLD_KEYS = []
    report = audit_chain_verify()
    assert report.first_bad_sequence == 1
    assert "cannot be verified" in report.problem


@pytest.mark.django_db
def test_a_checkpoint_follows_every_n_events_once_committed(settings, django_capture_on_commit_callbacks):
    settings.AUDIT_CHECKPOINT_EVERY = 2
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        events = record_some(5)
    assert len(callbacks) == 2
    lines = [json.loads(line) for line in Path(settings.AUDIT_CHECKPOINT_PATH).read_text().splitlines()]
    assert [(line["sequence"], line["hash"], line["key_id"]) for line in lines] == [
        (e.sequence, e.hash, e.key_id) for e in (events[1], events[3])]
    report = audit_chain_verify()
    assert report.ok and report.checkpoints_compared == 2
    assert report.newest_checkpoint is not None and report.newest_checkpoint.sequence == 4


@pytest.mark.django_db
def test_a_failing_checkpoint_never_fails_the_request(settings, tmp_path, caplog, django_capture_on_commit_callbacks):
    (tmp_path / "a-file").write_text("")
    settings.AUDIT_CHECKPOINT_PATH = tmp_path / "a-file" / "checkpoints.jsonl"
    settings.AUDIT_CHECKPOINT_EVERY = 1
    with (caplog.at_level(logging.ERROR, logger="sessions_app.services.audit"),
          django_capture_on_commit_callbacks(execute=True)):
        event = audit_event_record(action=AuditAction.SIGN_IN, actor_username="olivia")
    assert AuditEvent.objects.filter(pk=event.pk).exists()
    assert "checkpoint of event #1 could not be written" in caplog.text


@pytest.mark.django_db
def test_checkpoints_go_to_syslog_and_syslog_lines_verify(settings, tmp_path):
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(5)
    settings.AUDIT_CHECKPOINT_SYSLOG = f"127.0.0.1:{receiver.getsockname()[1]}"
    with receiver:
        record_some(3)
        checkpoint = write_checkpoint()
        datagram = receiver.recv(4096).decode()
    assert datagram.startswith("<86>restore-desk-audit: ")
    assert json.loads(datagram.split(": ", 1)[1]) == {"sequence": 3, "hash": checkpoint.hash,
                                                       "key_id": checkpoint.key_id, "time": checkpoint.time}
    collected = tmp_path / "from-syslog.log"
    collected.write_text(f"Dec  2 13:09:00 portal {datagram[len('<86>'):]}\n")
    report = audit_chain_verify(checkpoint_paths=[collected])
    assert report.ok and report.checkpoints_compared == 1


@pytest.mark.django_db
def test_unreadable_checkpoint_lines_are_reported_not_counted(settings):
    record_some(2)
    write_checkpoint()
    with open(settings.AUDIT_CHECKPOINT_PATH, "a") as file:
        file.write('{"sequence": 2, "hash": \n')
    report = audit_chain_verify()
    assert report.ok and report.checkpoints_compared == 1
    assert report.warnings == (f"{settings.AUDIT_CHECKPOINT_PATH}, line 2: not a checkpoint",)


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


@pytest.mark.django_db
def test_nul_characters_in_details_are_dropped_and_the_chain_still_verifies():
    event = audit_event_record(action=AuditAction.EXPORT, actor_username="alice",
                               details={"filters": {"x\x00": "a\x00b", "list": ["\x00"]}})

    assert AuditEvent.objects.get(pk=event.pk).details == {"filters": {"x": "ab", "list": [""]}}
    assert audit_chain_verify().ok
