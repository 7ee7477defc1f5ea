"""`manage.py audit_checkpoint`: one checkpoint of the chain head, now."""
from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sessions_app.models import AuditAction
from sessions_app.services import audit


@pytest.mark.django_db
def test_it_appends_the_head_as_one_json_line(settings, capsys):
    events = [audit.audit_event_record(action=AuditAction.SIGN_IN, actor_username=f"u{i}") for i in range(3)]
    call_command("audit_checkpoint")
    call_command("audit_checkpoint")
    assert "Checkpoint of event #3" in capsys.readouterr().out
    lines = [json.loads(line) for line in settings.AUDIT_CHECKPOINT_PATH.read_text().splitlines()]
    assert len(lines) == 2
    assert {(line["sequence"], line["hash"], line["key_id"]) for line in lines} == {
        (3, events[2].hash, events[2].key_id)}


@pytest.mark.django_db
def test_an_empty_trail_writes_nothing(settings, capsys):
    call_command("audit_checkpoint")
    assert "empty" in capsys.readouterr().out
    assert not settings.AUDIT_CHECKPOINT_PATH.exists()


@pytest.mark.django_db
def test_a_checkpoint_that_cannot_be_written_exits_1(settings, tmp_path):
    audit.audit_event_record(action=AuditAction.SIGN_IN, actor_username="olivia")
    (tmp_path / "a-file").write_text("")
    settings.AUDIT_CHECKPOINT_PATH = tmp_path / "a-file" / "checkpoints.jsonl"
    with pytest.raises(CommandError, match="not written"):
        call_command("audit_checkpoint")


@pytest.mark.django_db
def test_the_folder_is_created_on_demand(settings, tmp_path):
    audit.audit_event_record(action=AuditAction.SIGN_IN, actor_username="olivia")
    settings.AUDIT_CHECKPOINT_PATH = tmp_path / "var" / "audit" / "checkpoints.jsonl"
    call_command("audit_checkpoint")
    assert audit.audit_chain_verify(checkpoint_paths=[settings.AUDIT_CHECKPOINT_PATH]).checkpoints_compared == 1
