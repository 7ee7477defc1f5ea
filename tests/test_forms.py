"""The start form's pure parts: how restore points are grouped for choosing, what it offers and what it produces."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

import pytest
from django import forms as django_forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from sessions_app import exceptions, forms
from sessions_app.models import Organization
from sessions_app.specs import RestorePoints, StartOptions, StartSpec
from sessions_app.upstream.types import RestorePointDTO

MIDNIGHT = datetime(2026, 10, 30, 23, 0, tzinfo=dt_timezone.utc)


def options_with(points: Sequence[tuple[str, datetime]] = (), *, granted: frozenset[str] | None = None,
                 organizations=None) -> StartOptions:
    return StartOptions(
        user=get_user_model()(username="olivia"), organization=None,
        organizations=organizations if organizations is not None else Organization.objects.none(),
        may_start=True, organization_visible=True, organization_fixed=False, api_version=8,
        supported_workloads=("exchange", "onedrive"), granted_workloads=granted, may_act_on_behalf=False,
        restore_points=RestorePoints(points=tuple(
            RestorePointDTO(id=point_id, organization_id="", backup_time=moment, workloads=("exchange",),
                            is_long_term_copy=False, raw={}) for point_id, moment in points)))


def choices_of(form: forms.StartSessionForm, name: str) -> list[Any]:
    field = form.fields[name]
    assert isinstance(field, django_forms.ChoiceField)
    assert isinstance(field.choices, list)  # ChoiceField normalises what it is given to a list
    return field.choices


def restore_point_choices(points: list[tuple[str, datetime]]) -> list[Any]:
    return choices_of(forms.StartSessionForm(options=options_with(points)), "restore_point")[1:]


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


@pytest.mark.django_db
def test_the_form_offers_and_accepts_only_the_granted_workloads_in_the_apis_words(backed_up_org):
    options = options_with(granted=frozenset({"exchange"}), organizations=Organization.objects.all())
    data = {"submission_key": "0b6f6a4c-0000-4000-8000-000000000001", "organization": str(backed_up_org.upstream_id),
            "point_choice": "latest", "workload": "onedrive", "reason": "Lost folder"}

    form = forms.StartSessionForm(data, options=options)

    assert choices_of(form, "workload") == [("exchange", "Exchange")]
    assert not form.is_valid()
    assert form.errors["workload"] == [exceptions.WORKLOAD_NOT_GRANTED.format(workload="onedrive")]
    assert form.refusal is not None and form.refusal.why == "workload outside the user's grants"


@pytest.mark.django_db
def test_a_valid_form_produces_its_start_spec(backed_up_org):
    options = options_with(organizations=Organization.objects.all())
    form = forms.StartSessionForm({
        "submission_key": "0b6f6a4c-0000-4000-8000-000000000002", "organization": str(backed_up_org.upstream_id),
        "point_choice": "latest", "workload": "exchange", "reason": "  Lost folder ", "scope": "j.doe",
        "show_deleted": "on"}, options=options)

    assert form.is_valid(), form.errors
    assert form.spec() == StartSpec(organization=backed_up_org, workload="exchange", reason="Lost folder",
                                    scope="j.doe", show_deleted=True)
