"""The audit trail in words: what one event says happened, and its details, for the audit page.

Formatting only: each sentence is built from the event's own columns and details (whatever shape older
events stored), never from other rows.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from restores.actions import ACTIONS
from sessions_app.models import AuditAction, AuditEvent
from sessions_app.templatetags.portal import WORKLOAD_LABELS, times_shown

register = template.Library()

DETAIL_ORDER = ("user", "group", "organization", "change", "workloads", "workload", "before", "after", "operation",
                "target", "why", "message", "error")


def _workloads(values: Any) -> str:
    """["exchange", "all"] -> "Exchange, all workloads"; nothing -> "no workload"."""
    if isinstance(values, str):
        values = [values]
    names = ["all workloads" if value in ("", "all", None) else WORKLOAD_LABELS.get(value, str(value))
             for value in values or []]
    return ", ".join(names) or "no workload"


def _names(values: Any) -> str:
    return ", ".join(str(value) for value in values or []) or "none"


def _where(event: AuditEvent) -> str:
    """"an Exchange session in Contoso" from the event's own columns."""
    workload = WORKLOAD_LABELS.get(event.workload, event.workload)
    what = f"{'an' if workload[:1] in 'AEIOU' else 'a'} {workload} restore session" if workload else "a restore session"
    return f"{what} in {event.organization_name}" if event.organization_name else what


def _grant_sentence(event: AuditEvent, details: dict[str, Any]) -> str:
    user = details.get("user", "someone")
    organization = event.organization_name or details.get("organization", "an organization")
    change = details.get("change") or ("remove" if details.get("revoked") else
                                       "set" if "workloads" in details and "workload" not in details else "add")
    workloads = details.get("workloads", details.get("workload"))
    before = (details.get("before") or {}).get("workloads")
    after = (details.get("after") or {}).get("workloads")
    if change == "add":
        return f"Added a grant: {user} may now restore {_workloads(workloads)} in {organization}."
    if change == "remove":
        left = f" (left: {_workloads(after)})" if after else " (no access there any more)" if after == [] else ""
        return f"Removed a grant: {user} may no longer restore {_workloads(workloads)} in {organization}{left}."
    was = f" (before: {_workloads(before)})" if before else " (before: no access)" if before == [] else ""
    return f"Set the grants of {user} in {organization} to {_workloads(workloads)}{was}."


def _change_sentence(subject: str, details: dict[str, Any]) -> str:
    """"Changed olivia: is_staff no → yes." from before/after details."""
    before, after = details.get("before") or {}, details.get("after") or {}
    changes = [f"{name} {_value(before.get(name))} → {_value(after.get(name))}" for name in after]
    return f"Changed {subject}: {'; '.join(changes)}." if changes else f"Changed {subject}."


def _value(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value in (None, "", []):
        return "none"
    if isinstance(value, list):
        return _names(value)
    return str(value)


def _refusal_sentence(details: dict[str, Any]) -> str:
    operation = details.get("operation") or "a request"
    target = details.get("target")
    sentence = f"Refused {operation}" + (f" of {target}" if target and target != "*" else "")
    if details.get("why"):
        sentence += f": {details['why']}"
    if details.get("repeats"):
        sentence += f" (and {details['repeats']} more times in the same window)"
    return sentence + "."


def _job_sentence(event: AuditEvent, details: dict[str, Any]) -> str:
    """Item actions (restores): what was asked for, how it ended, a file downloaded or removed."""
    action = ACTIONS.get(str(details.get("action", "")))
    what = f"“{action.label}”" if action else f"the item action {details.get('action') or ''}".rstrip()
    job = f" (job {str(details['job'])[:8]})" if details.get("job") else ""
    if event.action == AuditAction.JOB_CREATE:
        count = details.get("selection_count") or len(details.get("selection") or [])
        entries = f" of {count} entr{'y' if count == 1 else 'ies'}" if count else ""
        target = details.get("target") or {}
        to = " to " + ", ".join(str(value) for value in target.values() if value) if isinstance(target, dict) and \
            any(target.values()) else ""
        return f"Asked for {what}{entries}{to} in {_where(event)}{job}."
    if event.action == AuditAction.JOB_FINISH:
        state = str(details.get("state") or "finished").replace("_", " ")
        counts = details.get("counts") or {}
        tally = (f": {counts.get('succeeded', 0)} succeeded, {counts.get('failed', 0)} failed, "
                 f"{counts.get('skipped', 0)} skipped") if isinstance(counts, dict) and counts else ""
        return f"{what[0].upper()}{what[1:]}{job} {state}{tally}."
    name = details.get("file_name") or "the file"
    if event.action == AuditAction.JOB_DOWNLOAD:
        return f"Downloaded {name} from {what}{job}."
    return f"Removed the expired file {name} of {what}{job}."


def describe(event: AuditEvent) -> str:
    """One sentence saying what the event records."""
    details = event.details if isinstance(event.details, dict) else {}
    action = event.action
    user = details.get("user", "")
    if action == AuditAction.SIGN_IN:
        return "Signed in."
    if action == AuditAction.SIGN_OUT:
        return "Signed out."
    if action == AuditAction.SIGN_IN_FAILED:
        how = f" ({details['method']})" if details.get("method") else ""
        return f"Sign-in failed{how}" + (f": {details['why']}." if details.get("why") else ".")
    if action == AuditAction.SIGN_IN_THROTTLED:
        limit = "this user name" if details.get("limit") == "user" else "this address"
        minutes = max(int(details.get("window_seconds") or 0) // 60, 1)
        failures = details.get("failures", "too many")
        return f"Sign-ins refused for {limit} for {minutes} minutes after {failures} failures."
    if action == AuditAction.SESSION_START_ATTEMPT:
        point = details.get("point_in_time")
        when = "at the latest backup" if point in (None, "latest") else f"as of {point}"
        return f"Asked VB365 for {_where(event)}, {when}."
    if action == AuditAction.SESSION_START:
        on_behalf = f" on behalf of {event.on_behalf_of_username}" if event.on_behalf_of_username else ""
        return f"Started {_where(event)}{on_behalf}."
    if action == AuditAction.SESSION_START_FAILED:
        return f"Could not start {_where(event)}: {details.get('message') or details.get('error') or 'VB365 failed'}."
    if action == AuditAction.SESSION_STOP:
        return f"Stopped {_where(event)}."
    if action == AuditAction.SESSION_STOP_FAILED:
        return f"Could not stop {_where(event)}: {details.get('message') or details.get('error') or 'VB365 failed'}."
    if action == AuditAction.GRANT_CHANGE:
        return _grant_sentence(event, details)
    if action == AuditAction.ROLE_CHANGE:
        if details.get("group"):
            if details.get("group_deleted"):
                return f"Deleted the role group {details['group']} (members: {_names(details.get('members'))})."
            return _change_sentence(f"the role group {details['group']}", details)
        before = (details.get("before") or {}).get("groups")
        after = (details.get("after") or {}).get("groups")
        if after is not None:
            return f"Changed the roles of {user or 'someone'} from {_names(before)} to {_names(after)}."
        return f"Changed the role of {user or 'someone'}" + (f" to {details['role']}." if details.get("role") else ".")
    if action == AuditAction.USER_CREATE:
        return f"Created the user {user}."
    if action == AuditAction.USER_DELETE:
        return f"Deleted the user {user}."
    if action == AuditAction.USER_CHANGE:
        if details.get("password_changed") and not details.get("after"):
            return f"Set a new password for {user}."
        return _change_sentence(f"the user {user}", details)
    if action == AuditAction.PROFILE_CHANGE:
        if details.get("profile_deleted"):
            return f"Deleted the profile of {user}."
        return _change_sentence(f"the profile of {user}", details)
    if action == AuditAction.TOKEN_CREATE:
        return f"Created the API token {details.get('token', '')}… for {user or 'someone'}."
    if action == AuditAction.TOKEN_REVOKE:
        why = f": {details['why']}" if details.get("why") else ""
        return f"Revoked the API token {details.get('token', '')}… of {user or 'someone'}{why}."
    if action == AuditAction.EXPORT:
        return "Exported the audit trail as CSV."
    if action == AuditAction.SYNC:
        if details.get("error"):
            return f"History sync failed: {details['error']}."
        return (f"History sync: {details.get('seen', 0)} sessions read, {details.get('created', 0)} new, "
                f"{details.get('updated', 0)} updated.")
    if action == AuditAction.ACCESS_DENIED:
        return _refusal_sentence(details)
    if action in (AuditAction.JOB_CREATE, AuditAction.JOB_FINISH, AuditAction.JOB_DOWNLOAD,
                  AuditAction.JOB_FILE_PURGE):
        return _job_sentence(event, details)
    if action == AuditAction.APP_CREDENTIAL_CHANGE:
        verb = "Removed" if details.get("change") in ("remove", "removed", "delete") else "Set"
        organization = event.organization_name or "an organization"
        application = f" (application {details['application_id']})" if details.get("application_id") else ""
        return f"{verb} the restore application credentials of {organization}{application}."
    if action == AuditAction.BROWSE_OPEN:
        what = details.get("container") or "contents"
        name = f" {details['name']}" if details.get("name") else ""
        return f"Opened the {what}{name} in {_where(event)}."
    return event.get_action_display() + "."


@register.filter
def audit_summary(event: AuditEvent) -> SafeString:
    """The event's sentence, with the times in it in the viewer's time zone."""
    return times_shown(describe(event))


@register.filter
def audit_details(event: AuditEvent) -> SafeString:
    """The event's details as a list of names and values (times in the viewer's time zone)."""
    details = event.details if isinstance(event.details, dict) else {}
    # One order whatever the database kept (PostgreSQL's jsonb reorders keys): who and what first.
    names = sorted(details, key=lambda name: (DETAIL_ORDER.index(name) if name in DETAIL_ORDER else len(DETAIL_ORDER),
                                              name))
    rows = [(name.replace("_", " "), times_shown(_detail_value(details[name], name))) for name in names]
    return format_html('<dl class="audit-details">{}</dl>',
                       format_html_join("", "<dt>{}</dt><dd>{}</dd>", rows)) if rows else SafeString("")


def _detail_value(value: Any, name: str = "") -> str:
    if name in ("workload", "workloads") and isinstance(value, (list, str)):
        return _workloads(value)
    if isinstance(value, dict):
        return "; ".join(f"{key.replace('_', ' ')}: {_detail_value(inner, key)}" for key, inner in value.items()) or "—"
    if isinstance(value, list):
        return ", ".join(_detail_value(inner) for inner in value) or "none"
    if isinstance(value, bool) or value is None:
        return _value(value)
    return value if isinstance(value, str) else json.dumps(value)


@register.filter
def session_url(upstream_id: str) -> str:
    """The session page of an id the trail recorded; "" for a text that is not a session id."""
    try:
        return reverse("sessions_app:session-detail", args=[uuid.UUID(str(upstream_id))])
    except (ValueError, NoReverseMatch):
        return ""
