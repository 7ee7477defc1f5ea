"""Formatting filters only: one way to show a time, a size, a state."""
from __future__ import annotations

from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def when(value: datetime | None) -> str:
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
def badge(value: str) -> str:
    """A coloured label for a state, result or outcome."""
    if not value:
        return mark_safe('<span class="muted">—</span>')
    return format_html('<span class="badge badge-{}">{}</span>', value.lower(), value.capitalize())
