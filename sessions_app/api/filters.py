"""Query-string filters for `GET /api/sessions/`.

The FilterSet only validates and normalises: `selector_kwargs()` hands the values to
`selectors.restore_session_list`, which stays the one place that knows how each filter narrows the list.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import django_filters
from django import forms

from sessions_app.models import RestoreSession, SessionResult, SessionState, Workload
from sessions_app.selectors import SESSION_ORDERINGS


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

    def selector_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for selectors.restore_session_list; call after is_valid()."""
        data = self.form.cleaned_data
        kwargs = {name: data.get(name) or None for name in self.filters}
        if kwargs["organization"] is not None:
            kwargs["organization"] = str(kwargs["organization"])
        return kwargs
