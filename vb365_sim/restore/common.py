"""What every restore route shares: the session, the body, credentials, and the answer of a restore.

# Reference: BROWSE-RESTORE.md §2.1 -- v6/v7 hold the restore POST and answer the statistics; v8 answers
# ``{sessionId}`` at once and reports through ``GET /RestoreSessions/{sessionId}/Statistics`` and
# ``/Events``; v2-v5 ``…/Action`` answers counts like v6. Save/export answer the file (containers.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from vb365_sim.browse.common import (
    SESSION,
    BrowseRoute,
    body_field,
    capitalised,
    respond,
    session_view,
)
from vb365_sim.contents import SessionView
from vb365_sim.restore.desk import Knobs, RestoreDesk, Selection
from vb365_sim.state import SimError, bad_request, json_object_body

if TYPE_CHECKING:
    from vb365_sim.app import Call, SimulatorApp

Data = dict[str, Any]
Action = Callable[["SimulatorApp", "Call", Data], Response]
# v1-v5 clients (and VR) send ``{"Id": …}``; keys are matched without case everywhere below.
VERIFICATION_URL = "https://microsoft.com/devicelogin"


def desk(app: SimulatorApp) -> RestoreDesk:
    return app.restores


def view_of(app: SimulatorApp, call: Call, session_type: str) -> SessionView:
    """The session's contents; a stopped session is 404 ResourceNotFound on every restore path too."""
    return session_view(app, call, session_type)


def request_body(call: Call) -> Data:
    """The JSON object of the request; an empty body is ``{}`` (several operations take none)."""
    return json_object_body(call.request.get_data(cache=True))


def field(data: Data, *names: str) -> Any:
    for name in names:
        value = body_field(data, name)
        if value is not None:
            return value
    return None


def flag(data: Data, name: str, default: bool = False) -> bool:
    value = field(data, name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):  # VR sends "true" strings (v4/v5)
        return value.lower() == "true"
    raise bad_request(f"The value '{value}' is not valid for {name}.")


def ids_of(data: Data, name: str, *, required: bool = True) -> list[str]:
    """The ids of ``name`` (``items``, ``documents``, ``posts``…): objects with ``id`` (or ``postId``).

    # Reference: BROWSE-RESTORE.md §0 item 9 -- selections are arrays of objects; only ``id`` is needed.
    # Inferred: bare id strings are accepted as well; an empty or missing list is 400.
    """
    value = field(data, name)
    if value is None or value == []:
        if required:
            raise bad_request(f"The {name} to process are not specified.")
        return []
    if not isinstance(value, list):
        raise bad_request(f"{name} must be an array of objects with an id.")
    out = []
    for obj in value:
        raw = obj if isinstance(obj, (str, int)) else field(obj, "id", "postId") if isinstance(obj, dict) else None
        if raw is None or raw == "":
            raise bad_request(f"Every object of {name} needs an id.")
        out.append(str(raw))
    return out


def named(action: Action, name: str) -> Action:
    """``action`` called ``name``: operations are made by factories, and a traceback should say which one ran."""
    action.__name__ = name
    return action


def post(template: str, action: Action, first: int = 6, last: int = 8) -> BrowseRoute:
    """A v6+ ``POST`` route whose handler gets the parsed body (``…/Action`` routes reuse the handler)."""

    def handler(app: SimulatorApp, call: Call) -> Response:
        return action(app, call, request_body(call))

    handler.__name__ = getattr(action, "__name__", "restore")
    return ("POST", SESSION + template, range(first, last + 1), handler)


def verbs(template: str, table: dict[str, Action], first: int, last: int = 5) -> BrowseRoute:
    """A v2-v5 ``POST …/Action`` route: one verb key in the body, its value the operation's options.

    # Reference: BROWSE-RESTORE.md §2.8 -- keys are matched case-insensitively (VR mixes ``ExportToPst``,
    # ``exporttoPst``); ``savetoMsg: null`` and the v2/v3 ``exporttoPst: null`` carry no options.
    """
    lowered = {k.lower(): v for k, v in table.items()}

    def handler(app: SimulatorApp, call: Call) -> Response:
        data = request_body(call)
        found = [(k, v) for k, v in data.items() if isinstance(k, str) and k.lower() in lowered]
        if len(found) != 1:
            raise bad_request(f"The action is not supported here. Expected one of: {', '.join(sorted(table))}.")
        key, options = found[0]
        if options is not None and not isinstance(options, dict):
            raise bad_request(f"The options of {key} must be a JSON object or null.")
        return lowered[key.lower()](app, call, options or {})

    return ("POST", SESSION + capitalised(template) + "/Action", range(first, last + 1), handler)


# --- credentials ---------------------------------------------------------------------------------------


def check_credentials(app: SimulatorApp, call: Call, data: Data) -> str:
    """Validate the Microsoft 365 credentials of an admin or tenant restore; the account it runs as.

    # Reference: BROWSE-RESTORE.md §2.2 -- user name + password, a device-code ``userCode``, or an
    # application certificate, in every restore body. Operators need none (not served here).
    # Inferred: the organization's Microsoft 365 account is its tenant account (``/_sim/info`` tenant);
    # organizations with modern app-only auth refuse passwords. Errors (no status documented,
    # BROWSE-RESTORE.md §7): no credentials, unknown/unapproved/expired code → 400
    # ParameterValidationFailure; wrong password or basic auth refused → 403 ResourceAccessDenied.
    """
    rec = app.state.get_session(call.params["restoreSessionId"], call.who)
    org = app.state.orgs_by_id[rec.organization_id]
    code = field(data, "userCode")
    if code:
        found = desk(app).device_code(str(code))
        if found is None or found.organization_id != org.id:
            raise bad_request(f"The device code '{code}' is not valid. Request a new code.")
        if found.expires_us <= app.state.clock():
            raise bad_request(f"The device code '{code}' has expired. Request a new code.")
        if not found.approved:
            raise bad_request(f"The device code '{code}' has not been approved yet: sign in at {VERIFICATION_URL} "
                              "and enter the code, then try again.")
        return f"device code {found.code}"
    app_id, certificate = field(data, "applicationId"), field(data, "applicationCertificate")
    if app_id or certificate:
        if not (app_id and certificate):
            raise bad_request("Both applicationId and applicationCertificate are required for certificate sign-in.")
        return f"application {app_id}"
    user = field(data, "userName", "office365UserName", "officeUsername")
    password = field(data, "userPassword", "office365UserPassword", "officeUserpassword")
    if not user and not password:
        raise bad_request("Microsoft 365 credentials are required: specify userName and userPassword, a userCode "
                          "from restoreDeviceCode, or an application certificate.")
    if org.tenant_username is None:
        raise SimError(403, f"Basic authentication is disabled for organization {org.name}: it uses modern "
                            "app-only authentication. Use a device code or an application certificate.",
                       "ResourceAccessDenied")
    if str(user).lower() != org.tenant_username.lower() or password != org.tenant_password:
        raise SimError(403, f"Failed to log in to Microsoft 365 as '{user}': the user name or password is incorrect.",
                       "ResourceAccessDenied")
    return str(user)


def device_code(app: SimulatorApp, call: Call) -> Response:
    """``POST …/organization/restoreDeviceCode`` → ``RESTDeviceCodeResponse``
    (S6-S8 RestoreSession_DeviceCodeAction)."""
    rec = app.state.get_session(call.params["restoreSessionId"], call.who)
    session_view(app, call, None)
    code = desk(app).new_device_code(rec.organization_id)
    return respond({
        "userCode": code.code,
        "verificationUrl": VERIFICATION_URL,
        "expiresIn": desk(app).knobs.device_code_seconds,
        "message": f"To sign in, use a web browser to open the page {VERIFICATION_URL} and enter the code "
                   f"{code.code} to authenticate.",
    })


# --- the answer of a restore ---------------------------------------------------------------------------

# Which v6/v7 statistics schema a restore answers (BROWSE-RESTORE.md §2.1).
EXCHANGE_ITEMS, EXCHANGE_FOLDERS, DOCUMENTS, TEAMS = "items", "folders", "documents", "teams"


def tally(selection: Selection, knobs: Knobs) -> tuple[dict[str, int], list[tuple[Any, str]]]:
    counts = {"Success": 0, "Failed": 0, "Skipped": 0}
    issues: list[tuple[Any, str]] = []
    for entry in selection:
        result = knobs.outcome(entry.id)
        counts[result] += 1
        if result != "Success" and len(issues) < 1000:
            issues.append((entry, result))
    return counts, issues


def error_text(entry: Any) -> str:
    return f"Failed to restore item '{entry.name}': the item could not be written to the target location."


def statistics(kind: str, selection: Selection, knobs: Knobs) -> Data:
    """The v6/v7 (and v2-v5) statistics of a finished restore.

    # Inferred: v2-v5 answer the same shapes as v6 (VR reads ``createdItemsCount`` and ``totalItemsCount``).
    # Inferred: Exchange "skipped" items are unchanged ones (``skippedItemsCount``); no item is merged.
    """
    counts, issues = tally(selection, knobs)
    if kind in (EXCHANGE_ITEMS, EXCHANGE_FOLDERS):
        out: Data = {}
        if kind == EXCHANGE_FOLDERS:
            out["failedFoldersCount"] = 0
        out.update(exceptions=[error_text(e) for e, r in issues if r == "Failed"],
                   createdItemsCount=counts["Success"], mergedItemsCount=0, failedItemsCount=counts["Failed"],
                   skippedItemsCount=counts["Skipped"], warnings=[])
        return out
    restore_issues = [{"id": e.id, "title": e.name, "type": "Item", "warnings": [],
                       **({"error": error_text(e)} if r == "Failed" else {}), "path": e.path} for e, r in issues]
    if kind == TEAMS:
        return {"totalItemsCount": selection.count, "restoredItemsCount": counts["Success"],
                "failedItemsCount": counts["Failed"], "skippedItemsCount": counts["Skipped"],
                "restoreIssues": [{**i, "name": i["title"], "type": "Post"} for i in restore_issues]}
    return {"totalItemsCount": selection.count, "restoredItemsCount": counts["Success"],
            "failedItemsCount": counts["Failed"], "skippedItemsByErrorCount": 0,
            "skippedItemsByNoChangesCount": counts["Skipped"], "failedRestrictionsCount": 0,
            "restoreIssues": restore_issues}


Selector = Callable[["SimulatorApp", "Call", Data, str], tuple[Any, Any, Selection]]


def sender(selector: Selector, scope: str, *, needs_to: bool = True) -> Action:
    """A send operation: the selection by e-mail to ``to`` (or, ``needs_to`` False, its own mailbox).

    # Reference: BROWSE-RESTORE.md §2.1 -- send answers 200 without a body in v6/v7 and 204 in v8; §0 item
    # 6 -- it needs the explorer's e-mail settings. Inferred: without them (``email_settings_configured``
    # knob off) or without ``to`` the answer is 400 ParameterValidationFailure.
    """

    def action(app: SimulatorApp, call: Call, data: Data) -> Response:
        # Inferred: ``from``/``to`` are addresses here, not the date range of a Teams posts selection.
        selector(app, call, {k: v for k, v in data.items() if str(k).lower() not in ("from", "to")}, scope)
        if needs_to:
            to = field(data, "to")
            if not isinstance(to, str) or "@" not in to:
                raise bad_request("The recipient address (to) is not specified or not valid.")
        if not desk(app).knobs.email_settings_configured:
            raise bad_request("Cannot send items: the e-mail notification settings of the restore explorer are not "
                              "configured on the Veeam Backup for Microsoft 365 server.")
        return Response(b"", status=204 if call.version >= 8 else 200)

    return named(action, f"send_{scope}")


def restore(app: SimulatorApp, call: Call, data: Data, selection: Selection, *, kind: str, title: str,
            target: str, credentials: bool = True) -> Response:
    """Run a restore of ``selection`` the version's way (v2-v7: hold the POST and answer the counts;
    v8: answer ``{sessionId}`` and let the run grow on the SimClock)."""
    if credentials:
        check_credentials(app, call, data)
    rec = app.state.get_session(call.params["restoreSessionId"], call.who)
    knobs = desk(app).knobs
    if call.version >= 8:
        run = desk(app).start_run(owner=call.who.key, parent_id=rec.id, organization_id=rec.organization_id,
                                  session_type=rec.type, title=title, target=target, selection=selection)
        return respond({"sessionId": run.id})
    if knobs.item_real_seconds > 0:
        time.sleep(knobs.item_real_seconds * selection.count)
    return respond(statistics(kind, selection, knobs))
