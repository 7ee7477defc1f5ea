"""Wire shapes of API v2 to v5 (VBO 2.0-5.0): paged sessions and events, absolute lower-case links.

# Reference: CONTRACT.md §4, §6, §7 (v2-v5 docs and the PHP portal client that reads ``results``).
"""

from __future__ import annotations

from typing import Any

from vb365_sim.state import EventRecord, Organization, SessionRecord, iso_z
from vb365_sim.wire_common import WireContext, duration


def error(message: str, error_code: str | None) -> dict[str, Any]:
    """``{message}`` (CONTRACT.md §2)."""
    return {"message": message}


def session(rec: SessionRecord, ctx: WireContext, *, detail: bool = False) -> dict[str, Any]:
    """One session; ``detail`` for the start answer and ``GET /RestoreSessions/{id}``, not for list rows.

    # Reference: CONTRACT.md §6.2 -- from v4 the start answer and GET also link ``restoreSessionEvents``
    # (v4/v5 start examples, v6 GET example); the v4 list example has only ``self`` and ``organization``.
    """
    self_path = f"{ctx.prefix}/RestoreSessions/{rec.id}"
    links = {"self": ctx.href(self_path), "organization": ctx.href(f"{self_path}/organization")}
    if detail and ctx.version >= 4:
        links["restoreSessionEvents"] = ctx.href(f"{self_path}/events")
    out: dict[str, Any] = {
        "id": rec.id,
        "name": rec.name,
        # Reference: CONTRACT.md §10 item 9 -- the organization *name*, not its id.
        "organization": ctx.state.orgs_by_id[rec.organization_id].name,
        "type": rec.type,
        "creationTime": iso_z(rec.creation_us),
        # Reference: CONTRACT.md §6.2 -- endTime is absent while the session is working (v3 doc example).
        **({} if rec.end_us is None else {"endTime": iso_z(rec.end_us)}),
        "state": rec.state,
        "result": rec.result,
        "initiatedBy": rec.initiated_by,
        "_links": links,
    }
    return out


def event(ev: EventRecord, rec: SessionRecord, ctx: WireContext) -> dict[str, Any]:
    session_path = f"{ctx.prefix}/RestoreSessions/{rec.id}"
    end = ev.end_us if ev.end_us is not None else ctx.now_us
    out: dict[str, Any] = {
        "id": ev.id,
        "type": ev.type,
        "status": ev.status,
        "startTime": iso_z(ev.start_us),
        **({} if ev.end_us is None else {"endTime": iso_z(ev.end_us)}),
        "duration": duration(end - ev.start_us),
        "title": ev.title,
        "message": ev.message,
        "order": ev.order,
        "_links": {"self": ctx.href(f"{session_path}/Events/{ev.id}"), "restoreSession": ctx.href(session_path)},
    }
    return out


def organization(org: Organization, ctx: WireContext) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "Office365",
        "username": org.tenant_username or f"backup@{org.name}",
        "region": "Worldwide",
        "id": org.id,
        "name": org.name,
        "isBackedup": org.is_backed_up,
    }
    if org.first_backup_us is not None and org.last_backup_us is not None:
        out["firstBackuptime"] = iso_z(org.first_backup_us)
        out["lastBackuptime"] = iso_z(org.last_backup_us)
    base = f"{ctx.prefix}/Organizations/{org.id}"
    out["_links"] = {
        "self": ctx.href(base),
        "jobs": ctx.href(f"{base}/Jobs"),
        "groups": ctx.href(f"{base}/Groups"),
        "users": ctx.href(f"{base}/Users"),
        "sites": ctx.href(f"{base}/Sites"),
    }
    out["_actions"] = {}
    return out


def logged_in_organization(org: Organization, ctx: WireContext) -> dict[str, Any]:
    """``GET /vN/Organization`` for a tenant token (CONTRACT.md §4.2)."""
    out: dict[str, Any] = {"id": org.id, "name": org.name, "type": "Office365", "isBackedup": org.is_backed_up}
    if org.first_backup_us is not None and org.last_backup_us is not None:
        out["firstBackuptime"] = iso_z(org.first_backup_us)
        out["lastBackuptime"] = iso_z(org.last_backup_us)
    out["_actions"] = {}
    return out
