"""The WSGI application: routing, authentication, version dispatch, stats, faults and the control plane.

Every ``/vN/`` route is declared once with the versions that serve it and its path template in contract
casing (the template is also the ``/_sim/stats`` key). Matching is case-insensitive because real clients
mix ``/v1/Token`` and ``/v1/token`` (CONTRACT.md §1): rules are compiled lower-case and the request path
is lower-cased before matching; ids are UUIDs or numbers, so nothing is lost.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from vb365_sim import browse, restore, wire_v1, wire_v2_v5, wire_v6_v8
from vb365_sim.browse.common import arg as _arg
from vb365_sim.browse.common import paging, parsed_arg
from vb365_sim.faults import FaultInjector, FaultRule, cut_connection
from vb365_sim.restore import runs as restore_runs
from vb365_sim.state import (
    MAX_LIMIT,
    SESSION_TYPES,
    Principal,
    SessionQuery,
    SimClock,
    SimConfig,
    SimError,
    State,
    TokenError,
    bad_request,
    forbidden,
    iso_z,
    json_object_body,
    not_found,
    parse_bool,
    parse_datetime,
    rfc1123,
)
from vb365_sim.wire_common import WireContext, page

logger = logging.getLogger(__name__)

ALL = range(1, 9)
JSON_TYPE = "application/json; charset=utf-8"
# Inferred: CONTRACT.md §2/§11 -- the ASP.NET Web API stock message, in the {message} envelope.
UNAUTHORIZED_MESSAGE = "Authorization has been denied for this request."
_VERSION_RE = re.compile(r"^/v(\d+)(?:/|$)", re.IGNORECASE)


@dataclass
class Call:
    """One matched API request."""

    request: Request
    version: int
    params: dict[str, str]
    ctx: WireContext
    principal: Principal | None

    @property
    def who(self) -> Principal:
        assert self.principal is not None
        return self.principal


Handler = Callable[["SimulatorApp", Call], Response]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    versions: range
    handler: Handler
    anonymous: bool = False


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(data, separators=(",", ":")), status=status, content_type=JSON_TYPE, headers=headers)


def _empty(status: int) -> Response:
    return Response(b"", status=status)


def _wire(version: int) -> ModuleType:
    if version == 1:
        return wire_v1
    if version <= 5:
        return wire_v2_v5
    return wire_v6_v8


def error_body(version: int | None, message: str, error_code: str | None = None) -> dict[str, Any]:
    """The version's ``RESTExceptionInfo`` (plain ``{message}`` outside a known version)."""
    if version is None or not 1 <= version <= 8:
        return {"message": message}
    if version >= 6:
        return wire_v6_v8.error(message, error_code, version)
    return _wire(version).error(message, error_code)  # type: ignore[no-any-return]


def _ci(data: dict[str, Any], name: str) -> tuple[bool, Any]:
    """Case-insensitive key lookup: the real server binds ``datetime``/``dateTime``/``DateTime`` alike."""
    lname = name.lower()
    for key, value in data.items():
        if isinstance(key, str) and key.lower() == lname:
            return True, value
    return False, None


def _body(call: Call) -> dict[str, Any]:
    return json_object_body(call.request.get_data(cache=True))


def _date_arg(call: Call, name: str) -> int | None:
    return parsed_arg(call, name, parse_datetime)


def _bool_arg(call: Call, name: str) -> bool | None:
    return parsed_arg(call, name, parse_bool)


def _paging(call: Call) -> tuple[int, int]:
    """``offset``/``limit`` with the documented defaults.

    # Reference: CONTRACT.md §1 Paging -- default limit 30, max 10,000.
    # Inferred: a larger limit is clamped to 10,000 (and echoed) rather than rejected.
    """
    return paging(call, blank_is_default=False)


def _require(call: Call, *kinds: str) -> Principal:
    who = call.who
    if who.kind not in kinds:
        if "admin" in kinds:
            raise forbidden("Access denied: this operation requires a Veeam Backup for Microsoft 365 administrator.")
        raise forbidden("Access denied: this operation is available to organization accounts only.")
    return who


# --- token -----------------------------------------------------------------------------------------------

# Reference: CONTRACT.md §3 -- grant types by version (operator from v6, jwt-bearer from v4).
_JWT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _grants(version: int) -> set[str]:
    grants = {"password", "refresh_token"}
    if version >= 4:
        grants.add(_JWT)
    if version >= 6:
        grants.add("operator")
    if version in (6, 7):
        grants.add("integration")
    return grants


def token(app: SimulatorApp, call: Call) -> Response:
    req = call.request
    if call.version >= 8 and (req.mimetype or "") == "application/json":
        # Reference: CONTRACT.md §3 -- the v8 spec also lists application/json with the same fields.
        try:
            raw = json.loads(req.get_data() or b"{}")
        except ValueError:
            raw = {}
        form = {str(k): "" if v is None else str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    else:
        form = {k: v for k, v in req.form.items()}
    grant = form.get("grant_type", "")
    st = app.state
    try:
        if not grant:
            raise TokenError("invalid_request", "The grant_type parameter is required.")
        if grant not in _grants(call.version):
            raise TokenError("unsupported_grant_type", f"The grant type '{grant}' is not supported in v{call.version}.")
        if grant == "password":
            info = st.grant_password(form.get("username", ""), form.get("password", ""))
        elif grant == "refresh_token":
            info = st.grant_refresh(form.get("refresh_token", ""))
        elif grant == "operator":
            info = st.grant_operator(form.get("client_id", ""), form.get("assertion", ""))
        elif grant == _JWT:
            info = st.grant_jwt_bearer(form.get("client_id", ""), form.get("assertion", ""))
        else:
            raise TokenError("unsupported_grant_type", "Integration tokens are not simulated.")
    except TokenError as exc:
        return _json({"error": exc.error, "error_description": exc.description}, 400)
    body = {
        "access_token": info.access_token,
        "token_type": "bearer",
        "expires_in": app.config.token_ttl,
        "refresh_token": info.refresh_token,
        "userName": info.principal.user_name,
        ".issued": rfc1123(info.issued_us),
        ".expires": rfc1123(info.expires_us),
    }
    return _json(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def token_logout(app: SimulatorApp, call: Call) -> Response:
    """Revoke the caller's access token. Reference: CONTRACT.md §3 -- v8 answers 204 (v7 spec 200)."""
    header = call.request.headers.get("Authorization", "")
    app.state.revoke(header.split(None, 1)[-1].strip())
    return _empty(204 if call.version >= 8 else 200)


# --- organizations ----------------------------------------------------------------------------------------


def organizations(app: SimulatorApp, call: Call) -> Response:
    _require(call, "admin")
    wire = _wire(call.version)
    orgs = app.state.organizations
    if call.version < 8:
        # Reference: CONTRACT.md §4.1 -- a plain array up to v7.
        return _json([wire.organization(o, call.ctx) for o in orgs])
    msid, backed_up_id = _arg(call, "msid"), _arg(call, "backedUpOrganizationId")
    if msid:
        orgs = [o for o in orgs if o.tenant_id == msid.lower()]
    if backed_up_id:
        orgs = [o for o in orgs if o.backed_up_organization_id == backed_up_id.lower()]
    offset, limit = _paging(call)
    results = [wire.organization(o, call.ctx) for o in orgs[offset : offset + limit]]
    return _json(page(call.ctx, "/v8/Organizations", results, offset=offset, limit=limit, total=len(orgs)))


def organization_by_id(app: SimulatorApp, call: Call) -> Response:
    _require(call, "admin")
    org = app.state.organization(call.params["organizationId"])
    return _json(_wire(call.version).organization(org, call.ctx))


def logged_in_organization(app: SimulatorApp, call: Call) -> Response:
    org = app.state.principal_organization(call.who)
    return _json(_wire(call.version).logged_in_organization(org, call.ctx))


def logged_in_user(app: SimulatorApp, call: Call) -> Response:
    who = _require(call, "operator", "tenant")
    return _json({"id": who.user_id or who.organization_id, "name": who.user_name})


def operator_info(app: SimulatorApp, call: Call) -> Response:
    who = _require(call, "operator", "tenant")
    return _json({"isOperator": who.kind == "operator", "_links": {}})


# --- restore points ----------------------------------------------------------------------------------------


def restore_points(app: SimulatorApp, call: Call) -> Response:
    """``GET /vN/RestorePoints``: array in v6, page from v7 (CONTRACT.md §4.3). Newest first.

    # Inferred: non-admin tokens see only their organization's points; an unknown organizationId filters
    # to nothing rather than failing.
    """
    who = call.who
    points = [p for pts in app.state.restore_points.values() for p in pts]
    org_filter = _arg(call, "organizationId")
    if who.kind != "admin":
        points = [p for p in points if p.organization_id == who.organization_id]
    if org_filter:
        points = [p for p in points if p.organization_id == org_filter.lower()]
    for name, attr in (("jobId", "job_id"), ("repositoryId", "repository_id")):
        value = _arg(call, name)
        if value:
            points = [p for p in points if getattr(p, attr) == value.lower()]
    for name in ("isLongTermCopy", "isRetrieved", "isCopy"):
        if _bool_arg(call, name):  # every simulated point is a plain, non-retrieved backup
            points = []
    if call.version == 6:
        after = _date_arg(call, "backupTime")
        if after is not None:
            points = [p for p in points if p.backup_us > after]
        points.sort(key=lambda p: p.backup_us, reverse=True)
        return _json([wire_v6_v8.restore_point(p, call.ctx) for p in points])
    lo, hi = _date_arg(call, "from"), _date_arg(call, "to")
    points = [p for p in points if (lo is None or p.backup_us >= lo) and (hi is None or p.backup_us <= hi)]
    points.sort(key=lambda p: (p.backup_us, p.id), reverse=not _bool_arg(call, "orderAsc"))
    offset, limit = _paging(call)
    results = [wire_v6_v8.restore_point(p, call.ctx) for p in points[offset : offset + limit]]
    return _json(page(call.ctx, f"{call.ctx.prefix}/RestorePoints", results, offset=offset, limit=limit,
                      total=len(points)))


def restore_point_by_id(app: SimulatorApp, call: Call) -> Response:
    point = app.state.points_by_id.get(call.params["restorePointId"])
    who = call.who
    if point is None or (who.kind != "admin" and point.organization_id != who.organization_id):
        raise not_found(f"Restore point with ID {call.params['restorePointId']} was not found.")
    return _json(wire_v6_v8.restore_point(point, call.ctx))


# --- starting sessions ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExploreOptions:
    session_type: str
    point_in_time_us: int | None
    show_deleted: bool
    show_all_versions: bool


def parse_explore(options: dict[str, Any], version: int) -> ExploreOptions:
    """Validate explore options leniently, as the real server binds them (CONTRACT.md §10 item 5).

    Keys are case-insensitive, booleans may be strings, types may be ``vex`` or ``Vex``. Raises
    ``SimError`` 400 for an unparseable date, an unknown type, or a type the version does not serve:
    v1 is Exchange only; Teams (``vet``) arrives in v5 (CONTRACT.md §5.1).
    """
    allowed = ("Vex",) if version == 1 else ("Vex", "Veod", "Vesp") if version < 5 else SESSION_TYPES
    found, raw_type = _ci(options, "type")
    if not found or raw_type is None or raw_type == "":
        # Inferred: a missing type means Exchange, the only type of v1.
        session_type = "Vex"
    else:
        match = [t for t in SESSION_TYPES if isinstance(raw_type, str) and t.lower() == raw_type.strip().lower()]
        if not match:
            raise bad_request(f"Invalid restore session type '{raw_type}'. Valid values: {', '.join(allowed)}.")
        session_type = match[0]
        if session_type not in allowed:
            raise bad_request(
                f"Restore session type '{session_type}' is not supported in v{version}. "
                f"Valid values: {', '.join(allowed)}."
            )
    found, raw_date = _ci(options, "dateTime")
    pit = None
    if found and raw_date not in (None, ""):
        try:
            pit = parse_datetime(raw_date)
        except ValueError:
            raise bad_request(
                f"Invalid date '{raw_date}'. Use yyyy.MM.dd HH:mm:ss, yyyy-MM-dd HH:mm:ss.fff or ISO 8601."
            ) from None
    flags = {}
    for name in ("showDeleted", "showAllVersions"):
        found, value = _ci(options, name)
        try:
            flags[name] = False if not found or value is None else parse_bool(value)
        except ValueError:
            raise bad_request(f"Invalid value '{value}' for {name}: expected true or false.") from None
    return ExploreOptions(session_type, pit, flags["showDeleted"], flags["showAllVersions"])


def _created(app: SimulatorApp, call: Call, org_id: str | None, options: dict[str, Any], **extra: Any) -> Response:
    who = call.who
    org = app.state.organization(org_id) if org_id is not None else app.state.principal_organization(who)
    opts = parse_explore(options, call.version)
    rec = app.state.start_session(
        principal=who,
        org=org,
        session_type=opts.session_type,
        point_in_time_us=opts.point_in_time_us,
        show_deleted=opts.show_deleted,
        show_all_versions=opts.show_all_versions,
        client_host=call.request.remote_addr,
        **extra,
    )
    # Reference: CONTRACT.md §5.2 / §10 item 6 -- 201 in every version (v6/v7 specs say 200).
    return _json(_wire(call.version).session(rec, call.ctx, detail=True), 201)


def _envelope(call: Call) -> dict[str, Any]:
    """The v1-v5 action envelope ``{"explore": {...}}`` (CONTRACT.md §5.1)."""
    found, options = _ci(_body(call), "explore")
    if not found:
        raise bad_request("The action is not supported. Expected {\"explore\": {...}}.")
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise bad_request("The explore action options must be a JSON object.")
    return options


def explore_action_admin(app: SimulatorApp, call: Call) -> Response:
    _require(call, "admin")
    org_id = call.params["organizationId"]
    app.state.organization(org_id)  # unknown organization is 404 before body validation
    return _created(app, call, org_id, _envelope(call))


def explore_action_tenant(app: SimulatorApp, call: Call) -> Response:
    _require(call, "tenant")
    return _created(app, call, None, _envelope(call))


def explore_admin(app: SimulatorApp, call: Call) -> Response:
    _require(call, "admin")
    org_id = call.params["organizationId"]
    app.state.organization(org_id)
    return _created(app, call, org_id, _body(call))


def explore_tenant(app: SimulatorApp, call: Call) -> Response:
    _require(call, "tenant")
    return _created(app, call, None, _body(call))


def _scope_name(scope: Any, default: str) -> str:
    """A display name for an operator ``scope``.

    # Reference: CONTRACT.md §5.2 -- the spec has one RESTRbacItemComposed object, the docs an array;
    # both are accepted. Inferred: with no scope the session is scoped to the operator's own objects.
    """
    items = scope if isinstance(scope, list) else [scope] if isinstance(scope, dict) else []
    names = []
    for item in items:
        if not isinstance(item, dict):
            raise bad_request("Invalid scope: expected an object with type and id.")
        name = None
        for part, keys in (("user", ("displayName", "name")), ("group", ("displayName", "name")),
                           ("site", ("title", "url")), ("team", ("displayName", "mail"))):
            _, sub = _ci(item, part)
            if isinstance(sub, dict):
                name = next((sub[k] for k in keys if isinstance(sub.get(k), str) and sub.get(k)), None)
            if name:
                break
        names.append(name or str(_ci(item, "id")[1] or ""))
    return ", ".join(n for n in names if n) or default


def explore_operator(app: SimulatorApp, call: Call) -> Response:
    who = _require(call, "operator")
    body = _body(call)
    _, scope = _ci(body, "scope")
    _, reason = _ci(body, "reason")
    if reason is not None and not isinstance(reason, str):
        raise bad_request("reason must be a string.")
    return _created(app, call, None, body, scope_name=_scope_name(scope, who.user_name), reason=reason)


# --- sessions --------------------------------------------------------------------------------------------------


def restore_sessions(app: SimulatorApp, call: Call) -> Response:
    """``GET /vN/RestoreSessions``: array in v1, page from v2 (CONTRACT.md §6.1)."""
    v = call.version
    wire = _wire(v)
    if v == 1:
        # Inferred: v1 has no paging; it returns the newest 10,000 visible sessions in full.
        result = app.state.list_sessions(call.who, SessionQuery(offset=0, limit=MAX_LIMIT))
        return _json([wire.session(r, call.ctx) for r in result.records])
    offset, limit = _paging(call)
    q = SessionQuery(offset=offset, limit=limit)
    if v >= 4:
        q = SessionQuery(offset=offset, limit=limit, start_from=_date_arg(call, "startTimeFrom"),
                         start_to=_date_arg(call, "startTimeTo"))
    if v >= 8:
        order_by = _arg(call, "orderBy") or "CreationTime"
        canonical = {"creationtime": "CreationTime", "endtime": "EndTime"}.get(order_by.lower())
        if canonical is None:
            raise bad_request(f"The value '{order_by}' is not valid for orderBy. Valid values: CreationTime, EndTime.")
        q = SessionQuery(
            offset=offset, limit=limit, start_from=q.start_from, start_to=q.start_to,
            end_from=_date_arg(call, "endTimeFrom"), end_to=_date_arg(call, "endTimeTo"),
            order_by=canonical, order_asc=bool(_bool_arg(call, "orderAsc")),
        )
    result = app.state.list_sessions(call.who, q)
    results = [wire.session(r, call.ctx) for r in result.records]
    return _json(page(call.ctx, f"{call.ctx.prefix}/RestoreSessions", results, offset=offset, limit=limit,
                      total=result.total))


def restore_session(app: SimulatorApp, call: Call) -> Response:
    run = restore_runs.find(app, call)
    if run is not None:  # the sessionId a v8 restore answered (vb365_sim/restore/runs.py)
        return restore_runs.session(app, call, run)
    rec = app.state.get_session(call.params["restoreSessionId"], call.who)
    return _json(_wire(call.version).session(rec, call.ctx, detail=True))


def session_action(app: SimulatorApp, call: Call) -> Response:
    """v1-v5 ``POST /RestoreSessions/{id}/Action`` with ``{"stop": null}`` → 200, no body (CONTRACT.md §8)."""
    found, _ = _ci(_body(call), "stop")
    if not found:
        raise bad_request("The action is not supported. Expected {\"stop\": null}.")
    app.state.stop_session(call.params["restoreSessionId"], call.who)
    return _empty(200)


def session_stop(app: SimulatorApp, call: Call) -> Response:
    """v6/v7 → 200, v8 → 204, no body (CONTRACT.md §8)."""
    app.state.stop_session(call.params["restoreSessionId"], call.who)
    return _empty(204 if call.version >= 8 else 200)


def session_events(app: SimulatorApp, call: Call) -> Response:
    run = restore_runs.find(app, call)
    if run is not None:
        return restore_runs.events(app, call, run)
    rec = app.state.get_session(call.params["restoreSessionId"], call.who)
    events = app.state.events(rec)
    offset, limit = _paging(call)
    wire = _wire(call.version)
    results = [wire.event(e, rec, call.ctx) for e in events[offset : offset + limit]]
    path = f"{call.ctx.prefix}/RestoreSessions/{rec.id}/Events"
    return _json(page(call.ctx, path, results, offset=offset, limit=limit, total=len(events)))


def session_event(app: SimulatorApp, call: Call) -> Response:
    run = restore_runs.find(app, call)
    if run is not None:
        return restore_runs.event(app, call, run)
    rec = app.state.get_session(call.params["restoreSessionId"], call.who)
    wanted = call.params["eventId"].lower()
    for ev in app.state.events(rec):
        if ev.id == wanted:
            return _json(_wire(call.version).event(ev, rec, call.ctx))
    raise not_found(f"Restore session event with ID {call.params['eventId']} was not found.")


# --- service endpoints ---------------------------------------------------------------------------------------


def restore_portal_settings(app: SimulatorApp, call: Call) -> Response:
    """Anonymous (spec ``x-anonymous``). ``restorePortalUri`` from v7 (vb365_rest_v7.json)."""
    body: dict[str, Any] = {
        "applicationId": app.state.portal_application_id,
        "msalAuthorityUri": "https://login.microsoftonline.com/organizations",
    }
    if call.version >= 7:
        body["restorePortalUri"] = f"{call.ctx.base_url}/"
    body["isEnabled"] = True
    return _json(body)


def service_instance(app: SimulatorApp, call: Call) -> Response:
    # Inferred: one server, one build, whatever version prefix is used.
    return _json({"installationId": app.state.installation_id, "version": app.config.build_version})


def health(app: SimulatorApp, call: Call) -> Response:
    # Reference: vb365_rest_v8.json RESTHealthReport; anonymous.
    entries = {name: {"status": "Healthy", "description": None}
               for name in ("Database", "ProxyServers", "Repositories")}
    return _json({"status": "Healthy", "entries": entries})


ROUTES: tuple[Route, ...] = (
    Route("POST", "/Token", ALL, token, anonymous=True),
    Route("POST", "/Token/logout", range(7, 9), token_logout),
    Route("GET", "/Organizations", ALL, organizations),
    Route("GET", "/Organizations/{organizationId}", ALL, organization_by_id),
    Route("GET", "/Organization", range(2, 9), logged_in_organization),
    Route("GET", "/Organization/LoggedInUser", range(6, 9), logged_in_user),
    Route("GET", "/Organization/LoggedInUser/OperatorInfo", range(6, 9), operator_info),
    Route("GET", "/RestorePoints", range(6, 9), restore_points),
    Route("GET", "/RestorePoints/{restorePointId}", range(6, 9), restore_point_by_id),
    Route("POST", "/Organizations/{organizationId}/Action", range(1, 6), explore_action_admin),
    # Reference: CONTRACT.md §5.1 -- the v1 tenant path is /v1/RestoreSessions/Action.
    Route("POST", "/RestoreSessions/Action", range(1, 2), explore_action_tenant),
    Route("POST", "/Organization/Action", range(2, 6), explore_action_tenant),
    Route("POST", "/Organizations/{organizationId}/explore", range(6, 9), explore_admin),
    Route("POST", "/Organization/Explore", range(6, 9), explore_tenant),
    Route("POST", "/Organization/OperatorExplore", range(6, 9), explore_operator),
    Route("GET", "/RestoreSessions", ALL, restore_sessions),
    Route("GET", "/RestoreSessions/{restoreSessionId}", ALL, restore_session),
    Route("POST", "/RestoreSessions/{restoreSessionId}/Action", range(1, 6), session_action),
    Route("POST", "/RestoreSessions/{restoreSessionId}/Stop", range(6, 9), session_stop),
    # Reference: CONTRACT.md §7 -- events from v2; no v1 page exists.
    Route("GET", "/RestoreSessions/{restoreSessionId}/Events", range(2, 9), session_events),
    Route("GET", "/RestoreSessions/{restoreSessionId}/Events/{eventId}", range(2, 9), session_event),
    Route("GET", "/RestorePortalSettings", range(6, 9), restore_portal_settings, anonymous=True),
    Route("GET", "/ServiceInstance", range(6, 9), service_instance),
    Route("GET", "/Health", range(8, 9), health, anonymous=True),
)
# Browsing inside a restore session (vb365_sim/browse/, contents computed by vb365_sim/contents/).
ROUTES += tuple(Route(method, template, versions, handler) for method, template, versions, handler in browse.ROUTES)
# Restores, saves and exports (vb365_sim/restore/).
ROUTES += tuple(Route(method, template, versions, handler) for method, template, versions, handler in restore.ROUTES)


def _cut_half_way(response: Response, body: Iterable[bytes], environ: dict[str, Any]) -> Iterable[bytes]:
    """The ``cut_body`` fault: the body up to half its planned size, then the connection is cut."""
    planned = getattr(response, "planned_bytes", None) or response.content_length or 2
    budget = max(1, planned // 2)
    for chunk in body:
        if len(chunk) >= budget:
            yield chunk[:budget]
            cut_connection(environ)
        budget -= len(chunk)
        yield chunk
    cut_connection(environ)


def _rule_path(version: int, template: str) -> str:
    """``/RestoreSessions/{restoreSessionId}`` → ``/v8/restoresessions/<restoreSessionId>``."""
    parts = re.split(r"(\{\w+\})", template)
    return f"/v{version}" + "".join(f"<{p[1:-1]}>" if p.startswith("{") else p.lower() for p in parts)


@cache
def _template_regex(version: int, template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{\w+\})", f"/v{version}{template}")
    body = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(body + "/?", re.IGNORECASE)


def _original_case(route: Route, version: int, path: str, params: dict[str, str]) -> dict[str, str]:
    """The path parameters as the client spelled them.

    Rules match the lower-cased path (CONTRACT.md §1: segments are case-insensitive), but some ids are
    not: mailbox folder and item ids are base64 (BROWSE-RESTORE.md §0 item 8).
    """
    found = _template_regex(version, route.template).fullmatch(path)
    return found.groupdict() if found else params


def _build_map() -> tuple[Map, dict[str, tuple[Route, int]]]:
    rules = []
    endpoints: dict[str, tuple[Route, int]] = {}
    for route in ROUTES:
        for v in route.versions:
            endpoint = f"{route.method} /v{v}{route.template}"
            endpoints[endpoint] = (route, v)
            rules.append(Rule(_rule_path(v, route.template), endpoint=endpoint, methods=[route.method]))
    return Map(rules, strict_slashes=False, merge_slashes=False), endpoints


# --- the application -------------------------------------------------------------------------------------------


class SimulatorApp:
    """WSGI callable serving every API version plus the ``/_sim/`` control plane.

    ``SimulatorApp(config)`` builds fresh state for ``config``; ``faults`` seeds the fault rules (the CLI
    flags); ``clock`` replaces the wall clock (tests pass ``SimClock.frozen()`` and advance it). It never
    raises to the server except ``ConnectionCut`` for injected connection faults.
    """

    def __init__(
        self, config: SimConfig | None = None, *, faults: list[FaultRule] | None = None, clock: SimClock | None = None
    ) -> None:
        self.config = config or SimConfig()
        self.state = State(self.config, clock=clock)
        self.faults = FaultInjector(self.config.seed, faults)
        self.restores = restore.RestoreDesk(self.config, self.state.clock)
        self.url_map, self._endpoints = _build_map()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.lower().startswith("/_sim/"):
            return self._control(request)(environ, start_response)
        response = self._api(request, environ)
        self._count_status(response.status_code)
        return response(environ, start_response)

    # --- API dispatch ---

    def _api(self, request: Request, environ: dict[str, Any]) -> Response:
        m = _VERSION_RE.match(request.path)
        version = int(m.group(1)) if m else None
        adapter = self.url_map.bind("vb365-sim")
        route: Route | None = None
        params: dict[str, str] = {}
        failure: Response | None = None
        try:
            endpoint, matched = adapter.match(request.path.lower(), method=request.method)
            route, version = self._endpoints[str(endpoint)]
            params = _original_case(route, version, request.path, dict(matched))
            key = str(endpoint)
        except MethodNotAllowed:
            key = f"{request.method} (method not allowed)"
            message = f"The requested resource does not support http method '{request.method}'."
            failure = _json(error_body(version, message), 405)
        except NotFound:
            key = f"{request.method} (not found)"
            message = f"No HTTP resource was found that matches the request URI '{request.url}'."
            failure = _json(error_body(version, message), 404)
        self._count_request(key)

        if self.config.latency_ms:
            time.sleep(self.config.latency_ms / 1000)
        plan = self.faults.plan(request.path)
        if plan is not None:
            if plan.down:
                cut_connection(environ)
            if plan.latency_ms:
                time.sleep(plan.latency_ms / 1000)
            if plan.status is not None:
                return _json(error_body(version, f"Simulated failure (HTTP {plan.status})."), plan.status)
        if failure is not None:
            response = failure
        else:
            assert route is not None and version is not None
            response = self._dispatch(request, route, version, params)
        if plan is not None and plan.answer_delay_ms:
            time.sleep(plan.answer_delay_ms / 1000)
        if plan is not None and plan.malformed and response.status_code < 400:
            response = Response(b'{"offset":0,"results":[{"id":', status=200, content_type=JSON_TYPE)
        if plan is not None and plan.drop:
            self._count_status(response.status_code)
            cut_connection(environ)
        if plan is not None and plan.cut_body and response.status_code < 300:
            response.response = _cut_half_way(response, list(response.iter_encoded()) if not response.is_streamed
                                              else response.iter_encoded(), environ)
        return response

    def _dispatch(self, request: Request, route: Route, version: int, params: dict[str, str]) -> Response:
        ctx = WireContext(
            version=version,
            base_url=request.host_url.rstrip("/"),
            state=self.state,
            now_us=self.state.clock(),
            query=tuple(request.args.items(multi=True)),
        )
        principal = None
        if not route.anonymous:
            header = request.headers.get("Authorization", "")
            scheme, _, value = header.partition(" ")
            principal = self.state.authenticate(value.strip()) if scheme.lower() == "bearer" else None
            if principal is None:
                # Reference: CONTRACT.md §2/§10 item 4 -- missing, unknown or expired bearer → 401.
                return _json(error_body(version, UNAUTHORIZED_MESSAGE), 401, headers={"WWW-Authenticate": "Bearer"})
        call = Call(request=request, version=version, params=params, ctx=ctx, principal=principal)
        try:
            return route.handler(self, call)
        except SimError as exc:
            return _json(error_body(version, exc.message, exc.error_code), exc.status)
        except Exception:  # a simulator bug must still look like a server error, not kill the connection
            logger.exception("unhandled error in %s", route.template)
            return _json(error_body(version, "An unexpected error occurred.", "HttpError"), 500)

    def _count_request(self, key: str) -> None:
        self.state.count_request(key)

    def _count_status(self, status: int) -> None:
        self.state.count_status(status)

    # --- control plane ---

    def _control(self, request: Request) -> Response:
        """``/_sim/*``: never faulted, never counted, no authentication (it is not part of VB365)."""
        path = request.path.lower().rstrip("/")
        method = request.method
        try:
            if path == "/_sim/info" and method == "GET":
                return _json(self.info())
            if path == "/_sim/stats" and method == "GET":
                return _json(self.stats())
            if path == "/_sim/stats" and method == "DELETE":
                self.state.reset_stats()
                return _empty(204)
            if path == "/_sim/faults" and method == "GET":
                return _json({"faults": [r.to_json() for r in self.faults.rules()]})
            if path == "/_sim/faults" and method == "POST":
                rule = FaultRule.from_json(json.loads(request.get_data() or b"null"))
                self.faults.add(rule)
                return _json({"faults": [r.to_json() for r in self.faults.rules()]}, 201)
            if path == "/_sim/faults" and method == "DELETE":
                return _json({"cleared": self.faults.clear()})
            if path == "/_sim/expire-tokens" and method == "POST":
                return _json({"expired": self.state.expire_tokens()})
            if path == "/_sim/reset" and method == "POST":
                self.reset()
                return _empty(204)
            if path == "/_sim/clock" and method == "GET":
                return _json(self.clock())
            if path == "/_sim/clock" and method == "POST":
                data = json.loads(request.get_data() or b"{}")
                seconds = data.get("advance_seconds") if isinstance(data, dict) else None
                if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
                    raise ValueError("expected {\"advance_seconds\": <seconds, 0 or more>}")
                self.state.clock.advance(seconds)
                return _json(self.clock())
            if path == "/_sim/restore-knobs" and method == "GET":
                return _json(self.restores.knobs.to_json())
            if path == "/_sim/restore-knobs" and method == "POST":
                return _json(self.restores.set_knobs(json.loads(request.get_data() or b"{}")).to_json())
            approve = re.fullmatch(r"/_sim/device-codes/([^/]+)/approve", path)
            if approve and method == "POST":
                try:
                    code = self.restores.approve(approve.group(1))
                except LookupError as exc:
                    return _json({"message": str(exc)}, 404)
                return _json({"userCode": code.code, "approved": True})
            if path == "/_sim/operator-assertion" and method == "POST":
                data = json.loads(request.get_data() or b"{}")
                if not isinstance(data, dict):
                    raise ValueError("expected a JSON object")
                client_id, assertion = self.state.issue_operator_assertion(
                    str(data.get("organization_id", "")), str(data.get("user_id", "")), str(data.get("user_name", ""))
                )
                return _json({"client_id": client_id, "assertion": assertion})
        except (ValueError, re.error) as exc:
            return _json({"message": str(exc)}, 400)
        except SimError as exc:
            return _json({"message": exc.message}, exc.status)
        return _json({"message": f"Unknown control-plane endpoint {method} {request.path}."}, 404)

    def info(self) -> dict[str, Any]:
        """``GET /_sim/info``: credentials and organizations, for scripts and tests."""
        return {
            "admin": {"username": self.config.admin_user, "password": self.config.admin_password},
            "organizations": [
                {
                    "id": o.id,
                    "name": o.name,
                    "is_backed_up": o.is_backed_up,
                    "first_backup": iso_z(o.first_backup_us).replace(".000000Z", "Z") if o.first_backup_us else None,
                    "last_backup": iso_z(o.last_backup_us).replace(".000000Z", "Z") if o.last_backup_us else None,
                    "tenant": {"username": o.tenant_username, "password": o.tenant_password}
                    if o.tenant_username
                    else None,
                }
                for o in self.state.organizations
            ],
        }

    def reset(self) -> None:
        """``POST /_sim/reset``: the state at start (``State.reset``) and the fault rules given at start."""
        self.faults.reset()
        self.state.reset()
        self.restores.reset()

    def clock(self) -> dict[str, Any]:
        """``GET /_sim/clock``: ``{"now": <ISO-8601 Z>, "offset_seconds": <how far tests moved it>}``."""
        return {"now": iso_z(self.state.clock()), "offset_seconds": self.state.clock.offset_us / 1_000_000}

    def stats(self) -> dict[str, Any]:
        """``GET /_sim/stats``:
        ``{"requests": {"<METHOD> <route template>": n}, "statuses": {...}, "token_grants": n}``."""
        return self.state.stats_snapshot()


__all__ = ["ROUTES", "SimulatorApp", "error_body", "parse_explore"]
