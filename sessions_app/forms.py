"""Forms validate and normalise what people type. They never save, call VB365 or write audit rows."""
from __future__ import annotations

import uuid
import zoneinfo
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from sessions_app import exceptions
from sessions_app.models import (
    AuditAction,
    AuditOutcome,
    Organization,
    SessionOrigin,
    SessionResult,
    SessionState,
    Workload,
)
from sessions_app.selectors import SESSION_ORDERINGS
from sessions_app.specs import SessionQuery, StartOptions, StartSpec

POINT_LATEST = "latest"
POINT_CUSTOM = "custom"
POINT_RESTORE_POINT = "restore_point"
POINT_CHOICES = [(POINT_LATEST, "Latest backup"), (POINT_CUSTOM, "A date and time"),
                 (POINT_RESTORE_POINT, "A restore point")]
# Each mode's own field; filled in under another mode it is refused, never ignored.
POINT_MODE_FIELDS = {POINT_CUSTOM: "point_in_time", POINT_RESTORE_POINT: "restore_point"}
POINT_FIELD_OF_ANOTHER_MODE = "You chose “{chosen}”, but this is filled in too. Choose “{own}” to use it, or clear it."
REASON_MAX_LENGTH = 2000


class UsernameChoiceField(forms.ModelChoiceField):
    """A user chosen by username; NUL characters are refused before the lookup (PostgreSQL rejects them)."""

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class LocalDateTimeField(forms.DateTimeField):
    """A wall-clock time in the person's time zone. A time that the clocks skip or pass twice (daylight
    saving changes) is refused in plain words, not with Django's "may be ambiguous or may not exist"."""

    def to_python(self, value: Any) -> datetime | None:
        try:
            return super().to_python(value)
        except forms.ValidationError as error:
            if error.code != "ambiguous_timezone":
                raise
            naive, zone = error.params["datetime"], timezone.get_current_timezone()  # type: ignore[index]
            shown, name = naive.strftime("%Y-%m-%d %H:%M"), timezone.get_current_timezone_name()
            there_and_back = naive.replace(tzinfo=zone).astimezone(zoneinfo.ZoneInfo("UTC")).astimezone(zone)
            if there_and_back.replace(tzinfo=None) != naive:
                message = (f"{shown} does not exist in {name}: the clocks skip that hour when daylight saving time "
                           "starts. Choose a time before or after it.")
            else:
                message = (f"{shown} happens twice in {name}: the clocks go back an hour when daylight saving time "
                           "ends. Choose a time outside that hour, or a restore point.")
            raise forms.ValidationError(message, code="ambiguous_timezone") from None


class OfferedChoiceField(forms.ChoiceField):
    """A choice among those offered. A value that `refusal_message` refuses is answered with its words (the
    API's, for the same request), anything else outside the choices with Django's "Select a valid choice"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refusal_message: Callable[[str], str | None] = lambda value: None

    def validate(self, value: Any) -> None:
        message = self.refusal_message(str(value)) if value else None
        if message:
            raise forms.ValidationError(message, code="not_offered")
        super().validate(value)


class StartSessionForm(forms.Form):
    """The start form: it offers exactly what `options` (StartOptions) allows, and spec() is its StartSpec."""

    submission_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), to_field_name="upstream_id",
                                          empty_label="Choose an organization")
    point_choice = forms.ChoiceField(label="Point in time", choices=POINT_CHOICES, initial=POINT_LATEST,
                                     widget=forms.RadioSelect)
    point_in_time = LocalDateTimeField(
        required=False, label="Date and time",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"),
    )
    restore_point = forms.ChoiceField(required=False, label="Restore point", choices=())
    workload = OfferedChoiceField(choices=Workload.choices, initial=Workload.EXCHANGE)
    show_deleted = forms.BooleanField(required=False, label="Show deleted items")
    show_all_versions = forms.BooleanField(required=False, label="Show all versions")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=REASON_MAX_LENGTH,
        help_text=f"Up to {REASON_MAX_LENGTH:,} characters.",
        error_messages={"required": exceptions.REASON_REQUIRED,
                        "max_length": "Shorten the reason to %(limit_value)d characters (it has %(show_value)d)."})
    scope = forms.CharField(required=False, max_length=2000, label="Scope or ticket",
                            widget=forms.TextInput(attrs={"placeholder": "e.g. mailbox of j.doe, INC-1234"}))
    on_behalf_of = UsernameChoiceField(queryset=get_user_model().objects.none(), required=False,
                                       to_field_name="username", label="On behalf of", empty_label="nobody")
    ticket = forms.CharField(required=False, max_length=128, label="Ticket reference")
    # Sent by the "Start another session" button, shown when this form already started the same session.
    start_another = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, options: StartOptions, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options = options
        # An access refusal met while validating (a workload outside the grants): the page records it.
        self.refusal: exceptions.Refusal | None = None
        organization, workload, restore_point = (self.fields[name] for name in ("organization", "workload",
                                                                                "restore_point"))
        assert isinstance(organization, forms.ModelChoiceField) and isinstance(workload, OfferedChoiceField)
        assert isinstance(restore_point, forms.ChoiceField)
        organization.queryset = options.organizations
        workload.choices = [(value, label) for value, label in Workload.choices if value in options.workloads]
        workload.refusal_message = self._workload_refusal_message
        self._restore_points = {point.id: point.backup_time for point in options.restore_points.points}
        restore_point.choices = [
            ("", "Choose a restore point"), *_restore_points_grouped(list(self._restore_points.items()))]
        self.fields["point_in_time"].label = f"Date and time ({timezone.get_current_timezone_name()})"
        # No maxlength in the page: the browser would cut a longer paste without a word. The page counts
        # the characters instead (portal.js), and the server says how many are too many.
        self.fields["reason"].widget.attrs.pop("maxlength", None)
        self.fields["reason"].widget.attrs["data-max-length"] = str(REASON_MAX_LENGTH)
        if options.on_behalf_candidates is None:
            del self.fields["on_behalf_of"]
            del self.fields["ticket"]
        else:
            on_behalf_of = self.fields["on_behalf_of"]
            assert isinstance(on_behalf_of, forms.ModelChoiceField)
            on_behalf_of.queryset = options.on_behalf_candidates

    def _workload_refusal_message(self, workload: str) -> str | None:
        """StartOptions' words for a workload it does not offer (the API's); None for values that are no workload."""
        refused = self.options.workload_refusal(workload) if workload in Workload.values else None
        if refused is None:
            return None
        self.refusal = refused.refusal
        return refused.message

    def clean_submission_key(self) -> str:
        value = self.cleaned_data["submission_key"]
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise forms.ValidationError("This form is out of date; reload the page.") from None

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(exceptions.REASON_REQUIRED)
        return str(reason)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        choice = cleaned.get("point_choice")
        organization = cleaned.get("organization")
        if organization is not None and not organization.is_backed_up:
            self.add_error("organization", exceptions.ORGANIZATION_NEVER_BACKED_UP)
        if choice == POINT_CUSTOM:
            moment = cleaned.get("point_in_time")
            if moment is None:
                if "point_in_time" not in self.errors:
                    self.add_error("point_in_time", "Enter a date and time, or choose the latest backup.")
            elif moment > timezone.now():
                self.add_error("point_in_time", exceptions.POINT_IN_TIME_IN_FUTURE)
        elif choice == POINT_RESTORE_POINT:
            point_id = cleaned.get("restore_point")
            if (not point_id or point_id not in self._restore_points) and "restore_point" not in self.errors:
                self.add_error("restore_point", "Choose one of the restore points in the list.")
        self._refuse_fields_of_other_modes(choice)
        if cleaned.get("on_behalf_of") is not None and not (cleaned.get("ticket") or "").strip():
            self.add_error("ticket", exceptions.ON_BEHALF_REQUIRES_TICKET)
        return cleaned

    def _refuse_fields_of_other_modes(self, choice: str | None) -> None:
        """A date typed (or a restore point chosen) next to another choice is refused, never ignored: the
        page hides the other modes' fields, but a page without its script shows them all."""
        labels = dict(POINT_CHOICES)
        for mode, field in POINT_MODE_FIELDS.items():
            if choice and choice != mode and (self.data.get(self.add_prefix(field)) or "").strip() \
                    and field not in self.errors:
                self.add_error(field, POINT_FIELD_OF_ANOTHER_MODE.format(chosen=labels[choice], own=labels[mode]))

    def chosen_point_in_time(self) -> datetime | None:
        """None for the latest backup; an aware datetime otherwise."""
        choice = self.cleaned_data["point_choice"]
        if choice == POINT_CUSTOM:
            moment: datetime = self.cleaned_data["point_in_time"]
            return moment
        if choice == POINT_RESTORE_POINT:
            return self._restore_points[self.cleaned_data["restore_point"]]
        return None

    def spec(self) -> StartSpec:
        """What the person asks to start; call after is_valid()."""
        data = self.cleaned_data
        return StartSpec(
            organization=data["organization"], workload=data["workload"], reason=data["reason"],
            point_in_time=self.chosen_point_in_time(), restore_point_id=data.get("restore_point") or "",
            show_deleted=data["show_deleted"], show_all_versions=data["show_all_versions"], scope=data["scope"],
            ticket=data.get("ticket") or "", on_behalf_of=data.get("on_behalf_of"),
        )


ORDERING_LABELS = {"newest": "Newest first", "oldest": "Oldest first", "organization": "By organization",
                   "state": "Working first"}


class SessionFilterForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.none(), required=False,
                                          to_field_name="upstream_id", empty_label="All organizations")
    workload = forms.ChoiceField(choices=[("", "All workloads"), *Workload.choices], required=False)
    state = forms.ChoiceField(choices=[("", "Any state"), *SessionState.choices], required=False)
    result = forms.ChoiceField(choices=[("", "Any result"), *SessionResult.choices], required=False)
    requested_by = forms.CharField(required=False, max_length=150, label="Requester",
                                   help_text="Part of a user name, in any case.")
    initiated_by = forms.CharField(required=False, max_length=255, label="Initiator")
    origin = forms.ChoiceField(choices=[("", "Any origin"), *SessionOrigin.choices], required=False)
    started_after = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    started_before = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    search = forms.CharField(required=False, max_length=200, label="Reason or scope contains")
    ordering = forms.ChoiceField(choices=[(key, ORDERING_LABELS[key]) for key in SESSION_ORDERINGS], required=False,
                                 label="Order")

    def __init__(self, *args: Any, organizations: Any, review: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        organization = self.fields["organization"]
        assert isinstance(organization, forms.ModelChoiceField)
        organization.queryset = organizations
        if not review:
            del self.fields["initiated_by"]
            del self.fields["origin"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        after, before = cleaned.get("started_after"), cleaned.get("started_before")
        if after and before and after > before:
            self.add_error("started_before", "The end date is before the start date.")
        return cleaned

    def query(self) -> SessionQuery:
        """The search this form asks for; call after is_valid(). Dates are whole days in the user's time zone."""
        data = self.cleaned_data
        before = data.get("started_before")
        return SessionQuery(
            organization=data.get("organization"), workload=data.get("workload") or "",
            state=data.get("state") or "", result=data.get("result") or "",
            requested_by=data.get("requested_by") or "", initiated_by=data.get("initiated_by") or "",
            origin=data.get("origin") or "", search=data.get("search") or "",
            started_after=_day_start(data.get("started_after")),
            started_before=_day_start(before + timedelta(days=1)) if before else None,
            ordering=data.get("ordering") or "newest",
        )


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150)
    action = forms.ChoiceField(choices=[("", "Any action"), *AuditAction.choices], required=False)
    organization = forms.ModelChoiceField(queryset=Organization.objects.all(), required=False,
                                          to_field_name="upstream_id", empty_label="All organizations")
    workload = forms.ChoiceField(choices=[("", "All workloads"), *Workload.choices], required=False)
    outcome = forms.ChoiceField(choices=[("", "Any result"), *AuditOutcome.choices], required=False, label="Result")
    created_after = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    created_before = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    search = forms.CharField(required=False, max_length=200, label="Reason contains")

    def as_filters(self) -> dict[str, Any]:
        data = self.cleaned_data
        organization = data.get("organization")
        return {
            "actor": data.get("actor") or None, "action": data.get("action") or None,
            "organization": str(organization.upstream_id) if organization else None,
            "workload": data.get("workload") or None, "outcome": data.get("outcome") or None,
            "created_after": _day_start(data.get("created_after")),
            "created_before": (_day_start(data["created_before"] + timedelta(days=1)) if data.get("created_before")
                               else None),
            "search": data.get("search") or None,
        }


class TenantSignInForm(forms.Form):
    username = forms.CharField(max_length=254, label="Microsoft 365 user name",
                               widget=forms.TextInput(attrs={"autocomplete": "username",
                                                             "placeholder": "restore@yourcompany.onmicrosoft.com"}))
    password = forms.CharField(max_length=256, strip=False, widget=forms.PasswordInput(
        attrs={"autocomplete": "current-password"}))


class ProfileForm(forms.Form):
    time_zone = forms.ChoiceField(required=False, label="Time zone")
    notify_session_failed = forms.BooleanField(required=False, label="E-mail me when a session I started fails")
    notify_session_stopped_by_policy = forms.BooleanField(
        required=False, label="E-mail me when a session I started is stopped for being idle")
    notify_sync_failing = forms.BooleanField(
        required=False, label="E-mail me when the history sync has failed several times in a row")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zones = sorted(zoneinfo.available_timezones())
        time_zone = self.fields["time_zone"]
        assert isinstance(time_zone, forms.ChoiceField)
        time_zone.choices = [("", "Use my browser's time zone"), *[(zone, zone) for zone in zones]]


def _restore_points_grouped(points: list[tuple[str, datetime]]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Restore-point choices in groups, in the given order and the person's time zone: one group a day when
    some day has several points, else one a month (a daily backup gives 30 points a group, not one)."""
    local = [(point_id, timezone.localtime(moment)) for point_id, moment in points]
    days = [moment.date() for _, moment in local]
    by_day = len(set(days)) < len(days)
    groups: dict[str, list[tuple[str, str]]] = {}
    for point_id, moment in local:
        group = f"{moment:%A} {moment.day} {moment:%B %Y}" if by_day else f"{moment:%B %Y}"
        groups.setdefault(group, []).append((point_id, moment.strftime("%Y-%m-%d %H:%M:%S %Z")))
    return list(groups.items())


def _day_start(day: Any) -> datetime | None:
    if day is None:
        return None
    return timezone.make_aware(datetime(day.year, day.month, day.day), timezone.get_current_timezone())
