"""On PostgreSQL, one function appends an audit event: it bumps the chain head, hashes the event over its
canonical form and inserts it, all inside the server. The head's row lock is then held for one statement
and the commit, not for several client round trips (under load, writers queued behind a holder that was
waiting for a CPU). SQLite, which has one writer at a time anyway, keeps the client-side append.

The client sends the canonical JSON form cut at the two values only the server knows, `created_at` and
`sequence` (services/audit.py, `_canonical_parts`), so the hash is the one `audit_verify` computes.
"""
from __future__ import annotations

from typing import Any

from django.db import migrations

APPEND_SQL = """
CREATE OR REPLACE FUNCTION sessions_app_audit_append(
    p_before_created_at text, p_before_sequence text, p_after_sequence text,
    p_actor_id integer, p_actor_username text, p_on_behalf_of_username text, p_action text, p_outcome text,
    p_organization_id text, p_organization_name text, p_workload text, p_session_upstream_id text,
    p_reason text, p_scope text, p_ticket text, p_client_address text, p_details jsonb)
RETURNS TABLE (event_id bigint, event_sequence bigint, event_created_at timestamptz, event_previous_hash text,
               event_hash text) AS $$
DECLARE
    v_sequence bigint;
    v_previous text;
    v_created_at timestamptz := clock_timestamp();
    v_hash text;
    v_id bigint;
BEGIN
    UPDATE sessions_app_auditchainhead SET sequence = sequence + 1 WHERE id = 1
        RETURNING sequence, last_hash INTO v_sequence, v_previous;
    IF NOT FOUND THEN
        RETURN;  -- no head row: the client recreates it and calls again
    END IF;
    v_hash := encode(sha256(convert_to(
        v_previous || E'\\n' || p_before_created_at
        || to_char(v_created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
        || p_before_sequence || v_sequence::text || p_after_sequence, 'UTF8')), 'hex');
    INSERT INTO sessions_app_auditevent (
        sequence, created_at, actor_id, actor_username, on_behalf_of_username, action, outcome, organization_id,
        organization_name, workload, session_upstream_id, reason, scope, ticket, client_address, details,
        previous_hash, hash)
    VALUES (
        v_sequence, v_created_at, p_actor_id, p_actor_username, p_on_behalf_of_username, p_action, p_outcome,
        p_organization_id, p_organization_name, p_workload, p_session_upstream_id, p_reason, p_scope, p_ticket,
        p_client_address, p_details, v_previous, v_hash)
    RETURNING id INTO v_id;
    UPDATE sessions_app_auditchainhead SET last_hash = v_hash WHERE id = 1;
    RETURN QUERY SELECT v_id, v_sequence, v_created_at, v_previous, v_hash;
END;
$$ LANGUAGE plpgsql;
"""
DROP_SQL = "DROP FUNCTION IF EXISTS sessions_app_audit_append(text, text, text, integer, text, text, text, text, " \
           "text, text, text, text, text, text, text, text, jsonb);"


def add_function(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_SQL, params=None)


def drop_function(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0004_index_order_ids")]

    operations = [migrations.RunPython(add_function, drop_function)]
