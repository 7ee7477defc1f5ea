from django.db import migrations, models


class Migration(migrations.Migration):
    """Background work: activity of portal sessions (idle policy), failure notices sent, notification choices."""

    dependencies = [("sessions_app", "0008_refusals")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AddField(model_name="restoresession", name="last_activity_at",
                            field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(model_name="restoresession", name="outcome_notified_at",
                            field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(model_name="userprofile", name="notify_session_failed",
                            field=models.BooleanField(default=True)),
        migrations.AddField(model_name="userprofile", name="notify_session_stopped_by_policy",
                            field=models.BooleanField(default=True)),
        migrations.AddField(model_name="userprofile", name="notify_sync_failing",
                            field=models.BooleanField(default=True)),
    ]
