"""What the session page's explorer needs for item actions: the selection bar and the action dialog."""
from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from restores import selectors as job_selectors
from restores.actions import ACTIONS
from restores.forms import OPTION_LABELS, TARGET_LABELS, job_form_for
from restores.models import JobState
from sessions_app import selectors
from sessions_app.models import RestoreSession

register = template.Library()


@register.inclusion_tag("restores/_job_dialog.html", takes_context=True)
def job_dialog(context: template.Context, session: RestoreSession) -> dict[str, Any]:
    """The "Actions" bar and dialog, for people who may act in sessions (not auditors)."""
    request = context["request"]
    if not selectors.can_start(request.user):
        return {"show": False}
    return {"show": True, "session": session, "form": job_form_for(session), "csrf_token": context.get("csrf_token"),
            "request": request}


@register.filter
def job_state_badge(state: str) -> SafeString:
    """The job's state as a coloured label, in words ("Partially succeeded")."""
    label = dict(JobState.choices).get(state, state)
    return format_html('<span class="badge badge-{}">{}</span>', state, label)


@register.filter
def action_names(actions: list[Any]) -> str:
    """"exchange.restore_original exchange.export_pst": the actions a field or fieldset belongs to."""
    return " ".join(action.name for action in actions)


@register.filter
def action_labels(actions: list[Any]) -> str:
    return ", ".join(action.label for action in actions)


@register.filter
def joined(values: Any) -> str:
    return " ".join(sorted(str(value) for value in values))


@register.filter
def action_label(name: str) -> str:
    """"exchange.export_pst" -> "Export to PST" (the catalog's label; the name itself if it left the catalog)."""
    action = ACTIONS.get(name)
    return action.label if action else name


@register.filter
def field_label(name: str) -> str:
    """A target or option key as the dialog labels it."""
    return TARGET_LABELS.get(name) or OPTION_LABELS.get(name) or name.replace("_", " ").capitalize()


SESSION_JOBS_SHOWN = 10
PLURALS = {"mailbox": "mailboxes", "entry": "entries", "library": "libraries"}


@register.inclusion_tag("restores/_session_jobs.html", takes_context=True)
def session_jobs(context: template.Context, session: RestoreSession) -> dict[str, Any]:
    """The newest jobs of this session the viewer may see, for the session page."""
    user = context["request"].user
    shown = list(job_selectors.jobs_of_session(user=user, session=session)[:SESSION_JOBS_SHOWN + 1])
    may_list_all = selectors.can_review_all(user) or selectors.can_view_audit(user)
    return {"jobs": shown[:SESSION_JOBS_SHOWN], "session": session,
            "more": len(shown) > SESSION_JOBS_SHOWN and may_list_all}


@register.filter
def selection_summary(selection: Any) -> str:
    """"2 items in Adele Vance": how many entries of each kind, and the mailbox, drive, site or team they are in
    (a job's selection rows carry the container's name, not each entry's)."""
    rows = [row for row in selection or [] if isinstance(row, dict)]
    counts: dict[str, int] = {}
    for row in rows:
        kind = str(row.get("kind") or "entry")
        counts[kind] = counts.get(kind, 0) + 1
    parts = [f"{count} {kind if count == 1 else PLURALS.get(kind, kind + 's')}" for kind, count in counts.items()]
    where = next((str(row["name"]) for row in rows if row.get("name")), "")
    return ", ".join(parts) + (f" in {where}" if where else "") if parts else "—"

