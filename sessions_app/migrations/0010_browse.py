from django.db import migrations, models


CHOICES = [('sign_in', 'Sign-in'), ('sign_in_failed', 'Sign-in failed'), ('sign_out', 'Sign-out'), ('session_start_attempt', 'Session start attempted'), ('session_start', 'Session started'), ('session_start_failed', 'Session start failed'), ('session_stop', 'Session stopped'), ('session_stop_failed', 'Session stop failed'), ('grant_change', 'Grant changed'), ('role_change', 'Role changed'), ('export', 'Export'), ('sync', 'Sync run'), ('access_denied', 'Access denied'), ('sign_in_throttled', 'Sign-in throttled'), ('user_create', 'User created'), ('user_change', 'User changed'), ('user_delete', 'User deleted'), ('profile_change', 'Profile changed'), ('token_create', 'API token created'), ('token_revoke', 'API token revoked'), ('audit_key_change', 'Audit key changed'), ('browse_open', 'Backup contents opened')]


class Migration(migrations.Migration):
    """Browsing a session's contents: the audit action recording the first opening of a mailbox, drive, site
    or team in a session."""

    dependencies = [("sessions_app", "0009_background")]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(choices=CHOICES, db_index=True, max_length=32),
        ),
    ]
