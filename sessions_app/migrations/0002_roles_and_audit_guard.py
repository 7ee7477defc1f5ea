"""Portal roles as groups with their permissions, the audit chain's head row (gone since 0006), and on
PostgreSQL a trigger that refuses any UPDATE or DELETE of an audit event.

The trigger guards against mistakes, not against whoever owns the table: an owner may switch it off. The
trail is append-only for the portal's own database role only when the portal runs as a runtime role that
owns nothing (DATABASE_RUNTIME_ROLE: SELECT and INSERT on the audit trail, no UPDATE, DELETE, TRUNCATE or
ALTER). Against owners and superusers, the keyed chain and its checkpoints outside the database (0006,
services/audit.py) do not prevent changes, they reveal them."""
from __future__ import annotations

from typing import Any

from django.db import migrations

ROLE_PERMISSIONS = {
    "operator": ["start_restore_session", "stop_restore_session"],
    "helpdesk": ["start_restore_session", "stop_restore_session", "view_all_sessions", "act_on_behalf"],
    "auditor": ["view_all_sessions", "view_audit"],
    "admin": ["start_restore_session", "stop_restore_session", "view_all_sessions", "act_on_behalf", "view_audit"],
}

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION sessions_app_audit_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER sessions_app_audit_event_append_only
    BEFORE UPDATE OR DELETE ON sessions_app_auditevent
    FOR EACH ROW EXECUTE FUNCTION sessions_app_audit_event_append_only();
"""
DROP_TRIGGER_SQL = """
DROP TRIGGER IF EXISTS sessions_app_audit_event_append_only ON sessions_app_auditevent;
DROP FUNCTION IF EXISTS sessions_app_audit_event_append_only();
"""


def create_roles(apps: Any, schema_editor: Any) -> None:
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(Permission.objects.filter(content_type__app_label="sessions_app", codename__in=codenames))


def create_chain_head(apps: Any, schema_editor: Any) -> None:
    apps.get_model("sessions_app", "AuditChainHead").objects.get_or_create(pk=1, defaults={"last_hash": "0" * 64})


def add_trigger(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_SQL, params=None)


def drop_trigger(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGER_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_roles, migrations.RunPython.noop),
        migrations.RunPython(create_chain_head, migrations.RunPython.noop),
        migrations.RunPython(add_trigger, drop_trigger),
    ]
