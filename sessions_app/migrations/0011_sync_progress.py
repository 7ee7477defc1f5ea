from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    """A running sync's progress: pages read and, where VB365's paging says, the sessions it will list."""

    dependencies = [("sessions_app", "0010_browse")]

    operations = [
        migrations.AddField(
            model_name="syncrun",
            name="pages_read",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="syncrun",
            name="sessions_expected",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
    ]
