"""The audit chain becomes keyed: each link is an HMAC with AUDIT_CHAIN_KEY, computed by the portal, so the
key never enters the database (services/audit.py).

- The server-side append function of 0005 goes: it could only hash without a key.
- Events get `key_id`, the fingerprint of the key that signed them.
- Existing events are re-signed with AUDIT_CHAIN_KEY, after their unkeyed chain (and its head row) has been
  checked: a broken chain is never re-signed, since that would hide the break. The owner role runs this
  migration, and switches the append-only trigger off for this step only.
- The head row goes: writers now serialise on a lock (services/audit.py), so that the runtime role needs
  no UPDATE on anything of the audit trail.
"""
from __future__ import annotations

import hashlib
import hmac
import importlib
import json
from datetime import timezone as dt_timezone
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import migrations, models

GENESIS_HASH = "0" * 64
KEY_ID_LABEL = b"restore-desk audit key id"
UNKEYED_FIELDS = (
    "sequence", "created_at", "actor_id", "actor_username", "on_behalf_of_username", "action", "outcome",
    "organization_id", "organization_name", "workload", "session_upstream_id", "reason", "scope", "ticket",
    "client_address", "details",
)
KEYED_FIELDS = (*UNKEYED_FIELDS, "key_id")
TRIGGER = "sessions_app_audit_event_append_only"
BATCH = 1000


class AuditChainBroken(Exception):
    """The chain to re-sign does not verify; re-signing it would hide where it was broken."""


def _canonical_form(event: Any, fields: tuple[str, ...]) -> bytes:
    values = {name: getattr(event, name) for name in fields}
    values["created_at"] = event.created_at.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def unkeyed_hash(previous_hash: str, event: Any) -> str:
    """The link of releases before this migration: SHA-256, no key."""
    return hashlib.sha256(previous_hash.encode() + b"\n" + _canonical_form(event, UNKEYED_FIELDS)).hexdigest()


def keyed_hash(previous_hash: str, event: Any, key: str) -> str:
    """The link from this migration on (services.audit.chain_hash)."""
    return hmac.new(key.encode(), previous_hash.encode() + b"\n" + _canonical_form(event, KEYED_FIELDS),
                    hashlib.sha256).hexdigest()


def key_id_of(key: str) -> str:
    return hmac.new(key.encode(), KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def _resign(apps: Any, schema_editor: Any, *, verify: Any, sign: Any, key_id: str) -> None:
    """Walk the events in order; check each link with `verify(previous_hash, event)`, then store the link
    `sign(previous_hash, event)` makes. Raises AuditChainBroken, naming the first bad event, before storing
    anything (the migration's transaction rolls back what was stored)."""
    AuditEvent = apps.get_model("sessions_app", "AuditEvent")
    alias = schema_editor.connection.alias
    postgresql = schema_editor.connection.vendor == "postgresql"
    table = schema_editor.quote_name(AuditEvent._meta.db_table)
    if postgresql:
        schema_editor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {TRIGGER}", params=None)
    old_previous, new_previous, expected_sequence, batch = GENESIS_HASH, GENESIS_HASH, 1, []
    for event in AuditEvent.objects.using(alias).order_by("sequence").iterator(chunk_size=BATCH):
        if event.sequence != expected_sequence:
            raise AuditChainBroken(f"event #{expected_sequence} is missing (the next one is #{event.sequence})")
        if event.previous_hash != old_previous or event.hash != verify(old_previous, event):
            raise AuditChainBroken(f"event #{event.sequence} does not match its link")
        old_previous = event.hash
        event.key_id = key_id
        event.previous_hash = new_previous
        event.hash = new_previous = sign(new_previous, event)
        batch.append(event)
        if len(batch) == BATCH:
            AuditEvent.objects.using(alias).bulk_update(batch, ["previous_hash", "hash", "key_id"])
            batch = []
        expected_sequence += 1
    AuditEvent.objects.using(alias).bulk_update(batch, ["previous_hash", "hash", "key_id"])
    if postgresql:
        schema_editor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {TRIGGER}", params=None)


def _refusal(problem: str) -> AuditChainBroken:
    return AuditChainBroken(
        f"The audit chain is broken: {problem}. Refusing to re-sign it with AUDIT_CHAIN_KEY, which would hide "
        "the break. Keep the previous release running, find out what happened to the trail (audit_verify, "
        "backups), and restore it before migrating.")


def _key_for(apps: Any, schema_editor: Any) -> str:
    key: str = settings.AUDIT_CHAIN_KEY
    if not key and apps.get_model("sessions_app", "AuditEvent").objects.using(schema_editor.connection.alias).exists():
        raise ImproperlyConfigured("AUDIT_CHAIN_KEY is not set: the existing audit events must be re-signed with "
                                   "it. Set it (README: Audit keys) and run migrate again.")
    return key


def check_unkeyed_head(apps: Any, schema_editor: Any) -> None:
    """The head row of the unkeyed chain must agree with the newest event (it reveals a removed tail)."""
    AuditEvent = apps.get_model("sessions_app", "AuditEvent")
    alias = schema_editor.connection.alias
    head = apps.get_model("sessions_app", "AuditChainHead").objects.using(alias).filter(pk=1).first()
    newest = AuditEvent.objects.using(alias).order_by("-sequence").values_list("sequence", "hash").first()
    sequence, last_hash = newest or (0, GENESIS_HASH)
    if head is not None and head.sequence > sequence:
        raise _refusal(f"events #{sequence + 1} to #{head.sequence} are missing (the chain head counts them)")
    if head is not None and head.sequence == sequence and head.last_hash != last_hash:
        raise _refusal(f"the newest event, #{sequence}, does not match the chain head")


def resign_with_key(apps: Any, schema_editor: Any) -> None:
    """Check the unkeyed chain and re-sign every event with AUDIT_CHAIN_KEY."""
    key = _key_for(apps, schema_editor)
    try:
        _resign(apps, schema_editor, verify=unkeyed_hash, sign=lambda previous, event: keyed_hash(previous, event, key),
                key_id=key_id_of(key) if key else "")
    except AuditChainBroken as exc:
        raise _refusal(str(exc)) from None


def resign_without_key(apps: Any, schema_editor: Any) -> None:
    """Backwards: check the keyed chain with AUDIT_CHAIN_KEY and AUDIT_CHAIN_OLD_KEYS, and go back to SHA-256."""
    keys = {key_id_of(key): key for key in [settings.AUDIT_CHAIN_KEY, *settings.AUDIT_CHAIN_OLD_KEYS] if key}

    def verify(previous: str, event: Any) -> str:
        key = keys.get(event.key_id)
        return keyed_hash(previous, event, key) if key is not None else "unknown key"

    try:
        _resign(apps, schema_editor, verify=verify, sign=unkeyed_hash, key_id="")
    except AuditChainBroken as exc:
        raise _refusal(str(exc)) from None


def recreate_unkeyed_head(apps: Any, schema_editor: Any) -> None:
    alias = schema_editor.connection.alias
    newest = apps.get_model("sessions_app", "AuditEvent").objects.using(alias).order_by("-sequence") \
        .values_list("sequence", "hash").first()
    sequence, last_hash = newest or (0, GENESIS_HASH)
    apps.get_model("sessions_app", "AuditChainHead").objects.using(alias).create(
        pk=1, sequence=sequence, last_hash=last_hash)


def _append_function_sql() -> tuple[str, str]:
    module = importlib.import_module("sessions_app.migrations.0005_audit_append_function")
    return module.APPEND_SQL, module.DROP_SQL


def drop_append_function(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_append_function_sql()[1], params=None)


def create_append_function(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_append_function_sql()[0], params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('sessions_app', '0005_audit_append_function'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(choices=[('sign_in', 'Sign-in'), ('sign_in_failed', 'Sign-in failed'), ('sign_out', 'Sign-out'), ('session_start_attempt', 'Session start attempted'), ('session_start', 'Session started'), ('session_start_failed', 'Session start failed'), ('session_stop', 'Session stopped'), ('session_stop_failed', 'Session stop failed'), ('grant_change', 'Grant changed'), ('role_change', 'Role changed'), ('export', 'Export'), ('sync', 'Sync run'), ('access_denied', 'Access denied'), ('sign_in_throttled', 'Sign-in throttled'), ('user_create', 'User created'), ('user_change', 'User changed'), ('user_delete', 'User deleted'), ('profile_change', 'Profile changed'), ('token_create', 'API token created'), ('token_revoke', 'API token revoked'), ('audit_key_change', 'Audit key changed')], db_index=True, max_length=32),
        ),
        migrations.RunPython(drop_append_function, create_append_function),
        migrations.AddField(
            model_name='auditevent',
            name='key_id',
            field=models.CharField(default='', max_length=16),
            preserve_default=False,
        ),
        migrations.RunPython(check_unkeyed_head, recreate_unkeyed_head),
        migrations.RunPython(resign_with_key, resign_without_key),
        migrations.DeleteModel(name='AuditChainHead'),
    ]
