"""Wire shapes of API v1 (VBO 1.5): Exchange-only sessions with ``pointInTime``, plain arrays, absolute links.

# Reference: CONTRACT.md §4.1, §6.1, §6.2 and the v1 doc examples quoted there.
"""

from __future__ import annotations

from typing import Any

from vb365_sim.state import Organization, SessionRecord, iso_offset, iso_z
from vb365_sim.wire_common import WireContext


def error(message: str, error_code: str | None) -> dict[str, Any]:
    """``RESTExceptionInfo`` before v7: ``{message}`` only (CONTRACT.md §2)."""
    return {"message": message}


def session(rec: SessionRecord, ctx: WireContext, *, detail: bool = False) -> dict[str, Any]:
    """One session; ``detail`` changes nothing in v1, which has no events resource (CONTRACT.md §7)."""
    self_path = f"/v1/RestoreSessions/{rec.id}"
    out: dict[str, Any] = {
        "id": rec.id,
        "type": rec.type,
        # Reference: CONTRACT.md §6.2 -- v1 only, printed with an offset ("2017-06-26T22:07:39-07:00").
        "pointInTime": iso_offset(rec.point_in_time_us),
        "creationTime": iso_z(rec.creation_us),
        # Reference: CONTRACT.md §6.2 -- endTime is absent while the session is working (v3 doc example).
        **({} if rec.end_us is None else {"endTime": iso_z(rec.end_us)}),
        "state": rec.state,
        "result": rec.result,
        "_links": {"self": ctx.href(self_path), "organization": ctx.href(f"{self_path}/organization")},
    }
    return out


def organization(org: Organization, ctx: WireContext) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "Office365",
        # Reference: CONTRACT.md §4.1 -- the v1 example prints the region lower-case.
        "region": "worldwide",
        "username": org.tenant_username or f"backup@{org.name}",
        "id": org.id,
        "name": org.name,
        # Reference: CONTRACT.md §4.1 -- the v1 example shows isBackedup as the *string* "true".
        "isBackedup": "true" if org.is_backed_up else "false",
    }
    if org.first_backup_us is not None and org.last_backup_us is not None:
        out["firstBackuptime"] = iso_z(org.first_backup_us)
        out["lastBackuptime"] = iso_z(org.last_backup_us)
    base = f"/v1/Organizations/{org.id}"
    out["_links"] = {"self": ctx.href(base), "jobs": ctx.href(f"{base}/Jobs"),
                     "mailboxes": ctx.href(f"{base}/Mailboxes")}
    out["_actions"] = {}
    return out
