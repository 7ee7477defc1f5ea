"""`manage.py audit_verify`: exit 0 when the trail is intact, 1 naming the first bad event."""
from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sessions_app.models import AuditAction
from sessions_app.services import audit
from tests.database_roles import database_owner


def record(count: int) -> None:
    for i in range(count):
        audit.audit_event_record(action=AuditAction.SIGN_IN, actor_username=f"user{i}")


def checkpoint() -> audit.Checkpoint:
    head = audit.audit_chain_head()
    assert head is not None
    return audit.audit_checkpoint_write(head=head)


@pytest.mark.django_db
def test_an_intact_trail_says_so_with_its_checkpoints(capsys):
    record(3)
    written = checkpoint()
    call_command("audit_verify")
    out = capsys.readouterr().out
    assert "Audit chain intact: 3 events verified." in out
    assert f"1 checkpoint compared; the newest, of event #3, was written {written.time}." in out


@pytest.mark.django_db
def test_without_checkpoints_it_warns_that_a_removed_tail_would_go_unseen(capsys):
    record(1)
    call_command("audit_verify")
    captured = capsys.readouterr()
    assert "No checkpoints compared" in captured.out
    assert "no checkpoints read from" in captured.err


@pytest.mark.django_db(transaction=True)
def test_a_removed_tail_exits_1_naming_the_first_missing_event(capsys):
    record(4)
    checkpoint()
    with database_owner() as owner, owner.cursor() as cursor:
        if owner.vendor == "postgresql":
            cursor.execute("ALTER TABLE sessions_app_auditevent DISABLE TRIGGER USER")
        cursor.execute("DELETE FROM sessions_app_auditevent WHERE sequence > 2")
        if owner.vendor == "postgresql":
            cursor.execute("ALTER TABLE sessions_app_auditevent ENABLE TRIGGER USER")
    with pytest.raises(CommandError, match="broken at event #3: the table ends at event #2") as raised:
        call_command("audit_verify")
    assert raised.value.returncode == 1


@pytest.mark.django_db
def test_an_event_of_an_unknown_key_exits_1(settings):
    record(2)
    settings.AUDIT_CHAIN_KEY = "a-key-that-did-not-sign-these-events-0123456789"
    with pytest.raises(CommandError, match="broken at event #1: .*cannot be verified"):
        call_command("audit_verify")


@pytest.mark.django_db
def test_checkpoint_files_can_be_named(tmp_path, settings, capsys):
    record(2)
    checkpoint()
    collected = tmp_path / "collected.jsonl"
    collected.write_text(settings.AUDIT_CHECKPOINT_PATH.read_text().replace('"sequence":2', '"sequence":9'))
    call_command("audit_verify")
    with pytest.raises(CommandError, match="broken at event #3"):
        call_command("audit_verify", "--checkpoints", str(collected))
