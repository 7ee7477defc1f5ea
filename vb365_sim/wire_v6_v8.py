"""Wire shapes of API v6 to v8 (VB365 6.0-8.x), following the OpenAPI files.

v6 adds the Restore Portal fields (``details``, ``scopeName``, ``clientHost``, ``reason``) and item
fields on events, and switches links to server-relative; v7 adds ``errorCode`` and organization
``description``; v8 adds ``eTag``, event object ids, ``stackTrace`` and a paged organization list.

# Reference: vb365_rest_v6/v7/v8.json -- a property the schema does not mark ``nullable`` is never sent
# as null: it carries a value or is left out (CONTRACT.md "Nullability"). ``without_none`` does that.
"""

from __future__ import annotations

from typing import Any

from vb365_sim import wire_v2_v5
from vb365_sim.state import EventRecord, Organization, RestorePoint, SessionRecord, iso_z
from vb365_sim.wire_common import WireContext


def without_none(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` without the ones whose value is None (for properties the schema does not mark nullable)."""
    return {key: value for key, value in fields.items() if value is not None}


def error(message: str, error_code: str | None, version: int) -> dict[str, Any]:
    """``RESTExceptionInfo``: v6 ``{message}``; v7 ``+errorCode`` (``ProxyOffline`` only);
    v8 ``+errorCode, stackTrace``.

    # Reference: vb365_rest_v7.json RESTExceptionInfo -- the v7 errorCode enum is only ``ProxyOffline``,
    # so any other code is left out there (issue 12: left out, not null).
    """
    if version <= 6:
        return {"message": message}
    if version == 7:
        return {"message": message, **({"errorCode": error_code} if error_code == "ProxyOffline" else {})}
    return {"message": message, "errorCode": error_code, "stackTrace": None}


def session(rec: SessionRecord, ctx: WireContext, *, detail: bool = False) -> dict[str, Any]:
    # Reference: vb365_rest_v8.json RESTRestoreSession (v6/v7 identical without eTag): the v2-v5 session plus
    # the Restore Portal fields; ctx.href makes the links relative.
    # Reference: CONTRACT.md §6.2 -- scopeName is "" without a scope (v6 GET example); clientHost and
    # reason are not nullable either, so they are left out when there is none.
    out = wire_v2_v5.session(rec, ctx, detail=detail)
    links = out.pop("_links")
    out.update(details=rec.details, scopeName=rec.scope_name or "")
    out.update(without_none({"clientHost": rec.client_host, "reason": rec.reason}))
    if ctx.version >= 8:
        out["eTag"] = rec.etag
    out["_links"] = links
    return out


def event(ev: EventRecord, rec: SessionRecord, ctx: WireContext) -> dict[str, Any]:
    # The v2-v5 event plus the item fields of v6 and the object ids of v8; ctx.href makes the links relative.
    out = wire_v2_v5.event(ev, rec, ctx)
    links = out.pop("_links")
    # Reference: vb365_rest_v6.json RESTRestoreSessionEvent -- the item fields are not nullable: the
    # session's own events (started, stopped) and a View (no target) leave them out.
    out.update(without_none({"itemName": ev.item_name, "itemType": ev.item_type, "itemSizeBytes": ev.item_size,
                             "source": ev.source, "target": ev.target}))
    if ctx.version >= 8:
        org = ctx.state.orgs_by_id[rec.organization_id]
        out.update(
            organizationId=org.id,
            backedUpOrganizationId=org.backed_up_organization_id,
            userId=ev.user_id,
            groupId=None,
            siteId=ev.site_id,
            teamId=ev.team_id,
        )
    out["_links"] = links
    return out


def organization(org: Organization, ctx: WireContext) -> dict[str, Any]:
    # Reference: vb365_rest_v8.json RestOrganizationComposed (Office 365 subset).
    settings = {
        "useApplicationOnlyAuth": org.tenant_username is None,
        "officeOrganizationName": org.name,
        "account": org.tenant_username or f"backup@{org.name}",
        "grantAdminAccess": False,
        "useMfa": org.tenant_username is None,
    }
    out: dict[str, Any] = {
        "isTeamsOnline": True,
        "isTeamsChatsOnline": False,
        "exchangeOnlineSettings": settings,
        "sharePointOnlineSettings": settings,
        "isExchangeOnline": True,
        "isSharePointOnline": True,
        "type": "Office365",
        "region": "Worldwide",
        "id": org.id,
        "name": org.name,
        "officeName": org.office_name,
        "isBackedup": org.is_backed_up,
    }
    if ctx.version >= 7:
        out["description"] = org.description
    if org.first_backup_us is not None and org.last_backup_us is not None:
        out["firstBackuptime"] = iso_z(org.first_backup_us)
        out["lastBackuptime"] = iso_z(org.last_backup_us)
    if ctx.version >= 8:
        out["msid"] = org.tenant_id
        out["backedUpOrganizationId"] = org.backed_up_organization_id
    base = f"{ctx.prefix}/Organizations/{org.id}"
    out["_links"] = {
        "self": {"href": base},
        "jobs": {"href": f"{base}/Jobs"},
        "users": {"href": f"{base}/Users"},
        "groups": {"href": f"{base}/Groups"},
        "sites": {"href": f"{base}/Sites"},
        "teams": {"href": f"{base}/Teams"},
    }
    out["_actions"] = {}
    return out


def logged_in_organization(org: Organization, ctx: WireContext) -> dict[str, Any]:
    # Reference: vb365_rest_v8.json RESTLoggedInOrganization (description from v7).
    out: dict[str, Any] = {"id": org.id, "name": org.name}
    if ctx.version >= 7:
        out["description"] = org.description
    out.update(type="Office365", isBackedup=org.is_backed_up)
    if org.first_backup_us is not None and org.last_backup_us is not None:
        out["firstBackuptime"] = iso_z(org.first_backup_us)
        out["lastBackuptime"] = iso_z(org.last_backup_us)
    out["_actions"] = {}
    return out


def restore_point(p: RestorePoint, ctx: WireContext) -> dict[str, Any]:
    # Reference: vb365_rest_v8.json RESTRestorePoint (isCopy v7+, isDeleted/eTag/... v8).
    out: dict[str, Any] = {"id": p.id}
    if ctx.version >= 7:
        out["isDeleted"] = False
    out.update(
        repositoryId=p.repository_id,
        backupTime=iso_z(p.backup_us),
        jobId=p.job_id,
        # retrievalId (a uuid, not nullable) is left out: simulated points are never retrieved copies.
        organizationId=p.organization_id,
        isExchange=True,
        isSharePoint=True,
        isOneDrive=True,
        isTeams=True,
        isLongTermCopy=False,
    )
    if ctx.version >= 7:
        out["isCopy"] = False
    out["isRetrieved"] = False
    if ctx.version >= 8:
        out.update(eTag=p.etag, objectsEtag=p.etag, immutabilityExpiresOn=None)
    out["_links"] = {
        "self": {"href": f"{ctx.prefix}/RestorePoints/{p.id}"},
        "organization": {"href": f"{ctx.prefix}/Organizations/{p.organization_id}"},
        "repository": {"href": f"{ctx.prefix}/BackupRepositories/{p.repository_id}"},
    }
    return out
