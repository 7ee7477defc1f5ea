"""The start form's pure parts: how restore points are grouped for choosing."""
from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.utils import timezone

from sessions_app import forms
from sessions_app.models import Organization

MIDNIGHT = datetime(2026, 10, 30, 23, 0, tzinfo=dt_timezone.utc)


def restore_point_choices(points: list[tuple[str, datetime]]) -> list:
    form = forms.StartSessionForm(organizations=Organization.objects.none(), workloads=("exchange",),
                                  restore_points=points)
    return form.fields["restore_point"].choices[1:]


@pytest.mark.django_db
def test_several_points_a_day_are_grouped_by_day_in_the_persons_time_zone():
    points = [(f"p{n}", MIDNIGHT - timedelta(hours=6 * n)) for n in range(6)]
    with timezone.override("Europe/Berlin"):
        groups = restore_point_choices(points)
    assert [label for label, _ in groups] == ["Saturday 31 October 2026", "Friday 30 October 2026",
                                              "Thursday 29 October 2026"]
    assert groups[0][1] == [("p0", "2026-10-31 00:00:00 CET")]
    assert [point_id for _, options in groups for point_id, _ in options] == [f"p{n}" for n in range(6)]


@pytest.mark.django_db
def test_daily_points_are_grouped_by_month():
    points = [(f"p{n}", MIDNIGHT - timedelta(days=n)) for n in range(70)]
    with timezone.override("UTC"):
        groups = restore_point_choices(points)
    assert [(label, len(options)) for label, options in groups] == [
        ("October 2026", 30), ("September 2026", 30), ("August 2026", 10)]
