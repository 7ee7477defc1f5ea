"""Query-string filters for `GET /api/sessions/`.

The FilterSet only validates and normalises: `query()` is the SessionQuery that `selectors.restore_session_list`
applies, the one place that knows how each filter narrows the list (as for the history page's form).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import django_filters
from django import forms

from sessions_app.models import Organization, RestoreSession, SessionResult, SessionState, Workload
from sessions_app.selectors import SESSION_ORDERINGS
from sessions_app.specs import SessionQuery


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """ISO 8601 with `Z` or an offset, as UTC. A naive value means UTC: the API views activate UTC.

    Converting here also refuses moments that exist only with their offset (0001-01-01T00:00+01:00), which
    the database adapter could not convert later.
    """

    def to_python(self, value: Any) -> datetime | None:
        result = super().to_python(value)
        if result is None:
            return None
        try:
            return result.astimezone(timezone.utc)
        except OverflowError:
            raise forms.ValidationError("This moment is out of range.", code="invalid") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class RestoreSessionFilter(django_filters.FilterSet):
    organization = django_filters.UUIDFilter(help_text="Upstream id of the organization.")
    workload = django_filters.ChoiceFilter(choices=Workload.choices)
    state = django_filters.ChoiceFilter(choices=SessionState.choices)
    result = django_filters.ChoiceFilter(choices=SessionResult.choices)
    requested_by = django_filters.CharFilter(max_length=150, help_text="Portal username of the requester.")
    started_after = UtcIsoDateTimeFilter(help_text="Created at or after this moment (ISO 8601; naive means UTC).")
    started_before = UtcIsoDateTimeFilter(help_text="Created before this moment (ISO 8601; naive means UTC).")
    search = django_filters.CharFilter(max_length=200, help_text="Text in the reason, scope or ticket.")
    ordering = django_filters.ChoiceFilter(choices=[(key, key) for key in SESSION_ORDERINGS],
                                           help_text="Sort order; `newest` when absent.")

    class Meta:
        model = RestoreSession
        fields: list[str] = []

    def query(self) -> SessionQuery:
        """The search these parameters ask for; call after is_valid(). An organization id unknown here matches
        nothing (as one outside the user's grants), it is not an error."""
        data = self.form.cleaned_data
        organization_id = data.get("organization")
        organization = (Organization.objects.filter(upstream_id=organization_id).first()
                        if organization_id is not None else None)
        return SessionQuery(
            organization=organization, organization_unknown=organization_id is not None and organization is None,
            workload=data.get("workload") or "", state=data.get("state") or "", result=data.get("result") or "",
            requested_by=data.get("requested_by") or "", search=data.get("search") or "",
            started_after=data.get("started_after"), started_before=data.get("started_before"),
            ordering=data.get("ordering") or "newest",
        )
