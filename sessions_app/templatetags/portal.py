"""Formatting filters only: one way to show a time, a size, a state."""
from __future__ import annotations

import re
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

from sessions_app.models import Workload
from sessions_app.upstream.errors import UpstreamBadResponse
from sessions_app.upstream.types import parse_datetime

register = template.Library()


@register.filter
def when(value: datetime | None) -> SafeString:
    """A stored UTC time in the viewer's time zone, with the exact UTC time on hover."""
    if value is None:
        return mark_safe('<span class="muted">—</span>')
    local = timezone.localtime(value)
    utc = value.astimezone(dt_timezone.utc)
    return format_html('<time datetime="{}" title="{} UTC">{}</time>', utc.isoformat(),
                       utc.strftime("%Y-%m-%d %H:%M:%S"), local.strftime("%Y-%m-%d %H:%M:%S %Z"))


@register.filter
def size(value: Any) -> str:
    if value in (None, ""):
        return ""
    number = float(value)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if number < 1024 or unit == "TB":
            return f"{number:.0f} {unit}" if unit == "B" else f"{number:.1f} {unit}"
        number /= 1024
    return str(value)


@register.filter
def badge(value: str) -> SafeString:
    """A coloured label for a state, result or outcome."""
    if not value:
        return mark_safe('<span class="muted">—</span>')
    return format_html('<span class="badge badge-{}">{}</span>', value.lower(), value.capitalize())


# An ISO-8601 time as VB365 writes it inside its texts ("Restore point … (2026-11-30T09:02:47.000000Z).").
_ISO_TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?")


@register.filter
def times_shown(text: str) -> SafeString:
    """A text from VB365 (or an audit detail) with each ISO-8601 time in it shown the way `when` shows times."""
    text = str(text or "")
    parts, last = [], 0
    for match in _ISO_TIME.finditer(text):
        try:
            moment = parse_datetime(match.group(0))
        except UpstreamBadResponse:
            continue
        parts.append(conditional_escape(text[last:match.start()]))
        parts.append(when(moment))
        last = match.end()
    parts.append(conditional_escape(text[last:]))
    return mark_safe("".join(str(part) for part in parts))


@register.filter
def event_type(value: str) -> str:
    """VB365's event type; "None" (the session's own events: started, stopped) is shown as a dash."""
    if not value or value == "None":
        return mark_safe('<span class="muted">—</span>')
    return value


WORKLOAD_LABELS = dict(Workload.choices)


@register.filter
def workload_label(value: str) -> str:
    """A stored workload ("onedrive") as people read it ("OneDrive")."""
    return WORKLOAD_LABELS.get(value, value or "")
