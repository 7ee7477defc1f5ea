# API tokens of our own: hashed, expiring, revocable. Replaces DRF's authtoken (plain keys, no expiry).

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

DRF_TOKEN_TABLE = "authtoken_token"
TENANT_USERNAME_PREFIX = "tenant:"


def hash_drf_tokens(apps: Any, schema_editor: Any) -> None:
    """Carry DRF's tokens over, hashed, with the staff token lifetime from now; then empty DRF's table.

    Staff and operator tokens keep working until they expire (API_TOKEN_HOURS after this migration), so that
    scripts have time to move to a new token. Tenant tokens are dropped: they belonged to no VB365 sign-in.
    DRF's table keeps no key afterwards (its rows are deleted; the empty table may be dropped at leisure).
    """
    connection = schema_editor.connection
    if DRF_TOKEN_TABLE not in connection.introspection.table_names():
        return
    api_token = apps.get_model("sessions_app", "ApiToken")
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    table = connection.ops.quote_name(DRF_TOKEN_TABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {connection.ops.quote_name('key')}, user_id FROM {table}")
        rows = cursor.fetchall()
    tenant_ids = set(user_model.objects.filter(username__startswith=TENANT_USERNAME_PREFIX)
                     .values_list("pk", flat=True))
    expires_at = timezone.now() + timedelta(hours=getattr(settings, "API_TOKEN_HOURS", 720))
    api_token.objects.bulk_create([
        api_token(user_id=user_id, kind="staff", key_hash=hashlib.sha256(str(key).encode()).hexdigest(),
                  prefix=str(key)[:8], expires_at=expires_at)
        for key, user_id in rows if user_id not in tenant_ids
    ])
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")


class Migration(migrations.Migration):

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('sessions_app', '0006_audit_keyed_chain'),
    ]

    operations = [
        migrations.CreateModel(
            name='ApiToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('staff', 'Staff or operator'), ('tenant', 'Tenant (ends with its VB365 sign-in)')], max_length=16)),
                ('key_hash', models.CharField(max_length=64, unique=True)),
                ('prefix', models.CharField(max_length=16)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('expires_at', models.DateTimeField(db_index=True)),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('last_used_at', models.DateTimeField(blank=True, null=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at'],
                'indexes': [models.Index(fields=['user', 'kind'], name='api_token_user_kind')],
            },
        ),
        migrations.RunPython(hash_drf_tokens, migrations.RunPython.noop),
    ]
