"""What the runtime database role may do (PostgreSQL), granted after every `migrate` by the owner role.

The portal runs as DATABASE_RUNTIME_ROLE; migrations run as the role that owns the tables. The runtime role
may read and append to the audit trail and nothing more there (no UPDATE, DELETE or TRUNCATE, and owning
nothing, no ALTER: it cannot switch the append-only trigger off). On the other tables it reads and writes rows.
"""
from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections

from sessions_app.models import AuditEvent

logger = logging.getLogger(__name__)

MIGRATIONS_TABLE = "django_migrations"


def runtime_role_grant(*, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Grant DATABASE_RUNTIME_ROLE its privileges on every table and sequence of the current schema, revoking
    any others it had; return the statements run. Does nothing (returns []) off PostgreSQL, when the setting
    is empty, or when connected as that role itself (a test flush re-runs post_migrate as it).

    Raises ImproperlyConfigured when the role is a superuser or owns (or is a member of an owner of) a table
    or sequence here: then no grant can restrict it.
    """
    role = settings.DATABASE_RUNTIME_ROLE
    connection = connections[using]
    if connection.vendor != "postgresql" or not role:
        return []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_schema()")
        current_user, schema = cursor.fetchone()
        if current_user == role:
            return []
        _refuse_owner(cursor, role, schema)
        tables = connection.introspection.table_names(cursor)
        audit_table = AuditEvent._meta.db_table
        others = [table for table in tables if table not in (audit_table, MIGRATIONS_TABLE)]

        def names(group: list[str]) -> str:
            return ", ".join(quote(table) for table in group)

        statements = [
            f"REVOKE ALL ON TABLE {names(tables)} FROM {quote(role)}",
            f"GRANT SELECT, INSERT ON TABLE {quote(audit_table)} TO {quote(role)}",
            f"GRANT SELECT ON TABLE {quote(MIGRATIONS_TABLE)} TO {quote(role)}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE {names(others)} TO {quote(role)}",
            f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {quote(schema)} FROM {quote(role)}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {quote(schema)} TO {quote(role)}",
        ]
        for statement in statements:
            cursor.execute(statement)
    logger.info("Granted the runtime role %s its privileges on %d tables", role, len(tables))
    return statements


def _refuse_owner(cursor: Any, role: str, schema: str) -> None:
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
    row = cursor.fetchone()
    if row is None:
        raise ImproperlyConfigured(f"DATABASE_RUNTIME_ROLE {role!r} does not exist (README: two database roles).")
    if row[0]:
        raise ImproperlyConfigured(f"DATABASE_RUNTIME_ROLE {role!r} is a superuser: no grant can restrict it.")
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'S', 'v', 'm') AND pg_has_role(%s, c.relowner, 'MEMBER') "
        "ORDER BY c.relname LIMIT 5", [schema, role])
    owned = [name for (name,) in cursor.fetchall()]
    if owned:
        raise ImproperlyConfigured(
            f"DATABASE_RUNTIME_ROLE {role!r} owns {', '.join(owned)}: it could alter or truncate them. Give them to "
            f"the owner role (REASSIGN OWNED BY {role} TO <owner>) and run migrate again.")


def runtime_role_grant_after_migrate(sender: Any, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    runtime_role_grant(using=using)
