"""The runtime database role (PostgreSQL): it reads and appends to the audit trail, and can do nothing else to it.

These tests run as that role, as the whole suite does with TEST_DATABASE_RUNTIME_ROLE (`make test-postgres`).
"""
from __future__ import annotations

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from sessions_app.models import AuditAction, AuditEvent
from sessions_app.services import audit, database_roles
from tests.database_roles import database_owner, runs_as_runtime_role

pytestmark = pytest.mark.postgres

REFUSED = [
    "UPDATE sessions_app_auditevent SET reason = 'x'",
    "DELETE FROM sessions_app_auditevent",
    "TRUNCATE sessions_app_auditevent",
    "ALTER TABLE sessions_app_auditevent DISABLE TRIGGER USER",
    "ALTER TABLE sessions_app_auditevent DISABLE TRIGGER sessions_app_audit_event_append_only",
    "DROP TRIGGER sessions_app_audit_event_append_only ON sessions_app_auditevent",
    "CREATE OR REPLACE FUNCTION sessions_app_audit_event_append_only() RETURNS trigger AS $$ BEGIN RETURN NEW; END; "
    "$$ LANGUAGE plpgsql",
    "DROP TABLE sessions_app_auditevent",
    "ALTER TABLE sessions_app_auditevent RENAME TO sessions_app_auditevent_old",
    "SELECT setval(pg_get_serial_sequence('sessions_app_auditevent', 'id'), 1)",
    "ALTER SEQUENCE sessions_app_auditevent_id_seq RESTART",
    "ALTER TABLE sessions_app_auditevent OWNER TO CURRENT_USER",
    "RESET ROLE; UPDATE sessions_app_auditevent SET reason = 'x'",
    "SET ROLE postgres",
    "SET session_replication_role = replica",
]


@pytest.fixture
def runtime_role() -> str:
    if connection.vendor != "postgresql" or not runs_as_runtime_role():
        pytest.skip("PostgreSQL with TEST_DATABASE_RUNTIME_ROLE only (make test-postgres)")
    return settings.DATABASE_RUNTIME_ROLE


@pytest.mark.django_db
def test_the_portal_runs_as_the_runtime_role_which_owns_nothing(runtime_role):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, session_user")
        assert cursor.fetchone() == (runtime_role, runtime_role)
        cursor.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE n.nspname = current_schema() AND pg_has_role(current_user, c.relowner, 'MEMBER')")
        assert cursor.fetchone() == (0,)
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False,)


@pytest.mark.django_db
def test_the_runtime_role_selects_and_inserts_audit_events(runtime_role):
    event = audit.audit_event_record(action=AuditAction.SIGN_IN, actor_username="olivia")
    with connection.cursor() as cursor:
        cursor.execute("SELECT has_table_privilege('sessions_app_auditevent', 'SELECT'), "
                       "has_table_privilege('sessions_app_auditevent', 'INSERT')")
        assert cursor.fetchone() == (True, True)
    assert AuditEvent.objects.get(pk=event.pk).actor_username == "olivia"
    assert audit.audit_chain_verify().ok


@pytest.mark.django_db
@pytest.mark.parametrize("statement", REFUSED)
def test_the_runtime_role_cannot_change_remove_or_unguard_audit_events(runtime_role, statement):
    event = audit.audit_event_record(action=AuditAction.SIGN_IN, actor_username="olivia")
    with (pytest.raises(DatabaseError, match="permission denied|must be owner|must be member"),
          transaction.atomic(), connection.cursor() as cursor):
        cursor.execute(statement)
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgenabled FROM pg_trigger WHERE tgname = 'sessions_app_audit_event_append_only'")
        assert cursor.fetchone() == ("O",)
    assert AuditEvent.objects.get(pk=event.pk).reason == ""
    assert audit.audit_chain_verify().ok


@pytest.mark.django_db
def test_the_runtime_role_writes_the_other_tables(runtime_role):
    with connection.cursor() as cursor:
        cursor.execute("SELECT has_table_privilege('sessions_app_restoresession', 'SELECT, INSERT, UPDATE, DELETE'), "
                       "has_table_privilege('sessions_app_auditevent', 'UPDATE'), "
                       "has_table_privilege('sessions_app_auditevent', 'DELETE'), "
                       "has_table_privilege('sessions_app_auditevent', 'TRUNCATE'), "
                       "has_table_privilege('django_migrations', 'INSERT')")
        assert cursor.fetchone() == (True, False, False, False, False)


@pytest.mark.django_db(transaction=True)
def test_the_grants_are_made_again_after_every_migrate_and_revoke_extra_privileges(runtime_role):
    with database_owner() as owner, owner.cursor() as cursor:
        cursor.execute(f"GRANT UPDATE, DELETE, TRUNCATE ON sessions_app_auditevent TO {runtime_role}")
        statements = database_roles.runtime_role_grant(using=owner.alias)
    assert statements
    with connection.cursor() as cursor:
        cursor.execute("SELECT has_table_privilege('sessions_app_auditevent', 'UPDATE') "
                       "OR has_table_privilege('sessions_app_auditevent', 'DELETE') "
                       "OR has_table_privilege('sessions_app_auditevent', 'TRUNCATE')")
        assert cursor.fetchone() == (False,)


@pytest.mark.django_db
def test_the_grant_is_nothing_to_do_for_the_runtime_role_itself(runtime_role):
    assert database_roles.runtime_role_grant() == []
