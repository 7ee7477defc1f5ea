"""Item actions inside a restore session (restore, copy, save, export), v4 to v8, on the wire.

One action on one selection is ONE upstream POST, planned before any HTTP call (`plan_action`):
- v4/v5 send `POST …/Action` with the verb as the body's only key; v6+ one endpoint per verb.
- v4–v7 hold a restore POST until the restore is done and answer its statistics (so the POST gets the long
  read timeout it is given); v8 answers `{sessionId}` at once, read with `run_progress` (`/Statistics`,
  `/Events`).
- Saves and exports answer the file itself (`application/octet-stream`), read as a stream, never in memory.

A restore POST is never retried: sent twice, VB365 restores twice. Microsoft 365 credentials travel only in
the request body; they are in no log line, exception message or repr (RestoreCredentials hides them).

Reference: BROWSE-RESTORE.md §2 (operations and bodies per workload), §2.8 (v2–v5 `…/Action` verbs),
§4.1 (v8 runs), §4.2 (errors), §2.7 (downloads, `Range` on the mailbox PST from v7).
"""
from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

import requests
import urllib3

from sessions_app.upstream import errors
from sessions_app.upstream.auth import BearerAuth
from sessions_app.upstream.browse import BrowseDialect, SessionBrowser
from sessions_app.upstream.browse_types import NodeRef
from sessions_app.upstream.client import UpstreamClient
from sessions_app.upstream.restore_types import (
    DeviceCodeDTO,
    RestoreCountsDTO,
    RestoreCredentials,
    RestoreStartedDTO,
    RunEventDTO,
    RunProgressDTO,
    counts_from_statistics,
)

logger = logging.getLogger(__name__)

DEFAULT_RESTORE_TIMEOUT = 4 * 3600.0
EVENTS_PAGE = 500
SNIFF_BYTES = 8
MAX_POSTS_LOOKED_UP = 200

ACTIONS_NEED = "Item actions need VB365 API v4 or later (this server speaks v{version})."
TEAMS_NEED = "Teams item actions need VB365 API v5 or later (this server speaks v{version})."
UNKNOWN_ACTION = "Restore Desk has no item action named '{action}'."
NOTHING_SELECTED = "Select at least one item, folder or container."
ONE_CONTAINER = "Every selected entry must be in the same {container}."
WRONG_WORKLOAD = "This action works on {workload} entries only."
NOT_A_DOWNLOAD = "This action restores into Microsoft 365; it returns no file to download."
NOT_A_RESTORE = "This action returns a file to download; it restores nothing into Microsoft 365."
VERSION_CHANGED = ("This action was prepared for VB365 API v{then}, but Restore Desk now speaks v{now} to the "
                   "server: start it again.")
CREDENTIALS_NEEDED = ("Microsoft 365 credentials are required for a restore: a device code, a user name and "
                      "password, or the organization's application.")
TARGET_MISSING = "The target {field} is required for this action."
PST_LIMIT = "The PST size limit must be a whole number of bytes between 1 GB and 49 GB."

# How an action answers: its file format for downloads, "" for restores.
DOWNLOAD_FORMATS = {"exchange.save_msg": "msg", "exchange.export_pst": "pst", "onedrive.save": "zip",
                    "sharepoint.save": "zip", "teams.export_posts": "html"}
RESTORE_ACTIONS = frozenset({"exchange.restore_original", "exchange.restore_to_mailbox", "onedrive.restore_original",
                             "onedrive.copy_to", "sharepoint.restore_original", "teams.restore_original"})
WORKLOAD_NAMES = {"exchange": "Exchange", "onedrive": "OneDrive", "sharepoint": "SharePoint", "teams": "Teams"}
TARGET_FIELDS = {"exchange.restore_to_mailbox": ("mailbox",), "onedrive.copy_to": ("onedrive",)}
DEFAULT_STEMS = {"exchange.save_msg": "item", "exchange.export_pst": "mailbox", "onedrive.save": "onedrive",
                 "sharepoint.save": "sharepoint", "teams.export_posts": "teams-posts"}
_SIGNATURES = ((b"PK\x03\x04", "zip"), (b"PK\x05\x06", "zip"), (b"!BDN", "pst"),
               (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "msg"))
_EXTENSIONS = {"zip": "zip", "pst": "pst", "msg": "msg", "html": "html"}
_DOUBLE_GUID = re.compile(r"^[0-9a-fA-F-]{64,80}$")


# -- errors ---------------------------------------------------------------------------------------------------

class RestoreUnsupported(errors.UpstreamError):
    """This server version, or VB365 itself, cannot do this action on this selection. Raised before any call."""

    http_status = 400
    code = "restore_unsupported"
    retryable = False
    default_message = "VB365 cannot do this action on this selection."


class RestoreRequestInvalid(errors.UpstreamRejected):
    """VB365 refused the action's request (400): the server's own words say why."""

    http_status = 400
    code = "restore_request_invalid"
    retryable = False
    default_message = "The VB365 server refused the request of this action."


class RestoreTargetInvalid(RestoreRequestInvalid):
    """The target (mailbox, OneDrive, folder) is missing or is not one of the organization's."""

    code = "restore_target_invalid"
    default_message = "The VB365 server does not know the target of this restore."


class RestoreCredentialsRefused(errors.UpstreamRejected):
    """The Microsoft 365 credentials of a restore were refused (wrong password, basic auth disabled, none)."""

    http_status = 400
    code = "restore_credentials_refused"
    retryable = False
    default_message = "Microsoft 365 refused the credentials given for this restore."


class RestoreDeviceCodeNotApproved(RestoreCredentialsRefused):
    """The device code is not approved yet (sign in at the address, then try again) or no longer valid."""

    http_status = 409
    code = "device_code_not_approved"
    default_message = "The device code has not been approved yet: sign in at the verification address first."

    def __init__(self, message: str = "", *, expired: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.expired = expired
        if expired:
            self.code = "device_code_expired"


class PstExportUnavailable(errors.UpstreamRejected):
    """The VB365 server cannot write PST files (64-bit Microsoft Outlook is not installed on it)."""

    http_status = 502
    code = "pst_export_unavailable"
    retryable = False
    default_message = ("64-bit Microsoft Outlook is not installed on the VB365 server, so it cannot export PST "
                       "files. Ask its administrator to install it, or restore the items instead.")


class UpstreamStreamCut(errors.UpstreamBadResponse):
    """A download ended before all its bytes arrived (connection broken, timed out or body short)."""

    http_status = 502
    code = "upstream_stream_cut"
    retryable = True
    default_message = "The VB365 server's download stopped before the whole file arrived."


class UpstreamRangeRefused(errors.UpstreamRejected):
    """VB365 refused to resume a download from the byte asked for (416): start again from the first byte."""

    http_status = 502
    code = "upstream_range_refused"
    retryable = True
    default_message = "The VB365 server cannot resume this download; it must start again."


# -- planning -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlannedCall:
    """The one POST an action on a selection becomes."""

    action: str
    path: str
    body: dict[str, Any] | None = field(repr=False)   # a restore's body carries the Microsoft 365 credentials
    is_restore: bool
    file_format: str = ""
    range_documented: bool = False    # VB365 documents `Range` for this body (v7+ mailbox PST)
    stem: str = ""


@dataclass
class _Planner:
    """Turns (action, selection, target, options) into the version's path and body. No HTTP."""

    version: int
    session_id: str
    post_window: tuple[str, str] | None = None       # (oldest, newest) createdTime of selected Teams posts
    dialect: BrowseDialect = field(init=False)

    def __post_init__(self) -> None:
        self.dialect = BrowseDialect(self.version)

    # -- shared ---------------------------------------------------------------------------------------------

    def plan(self, action: str, refs: Sequence[NodeRef], target: Mapping[str, Any], options: Mapping[str, Any],
             credentials: RestoreCredentials | None) -> PlannedCall:
        if self.version < 4:
            raise RestoreUnsupported(ACTIONS_NEED.format(version=self.version))
        if action not in RESTORE_ACTIONS and action not in DOWNLOAD_FORMATS:
            raise RestoreUnsupported(UNKNOWN_ACTION.format(action=action))
        if not refs:
            raise RestoreUnsupported(NOTHING_SELECTED)
        workload = action.split(".", 1)[0]
        container = {"exchange": "mailbox", "onedrive": "drive", "sharepoint": "site", "teams": "team"}[workload]
        if any(ref.container is None or ref.container[0] != container for ref in refs):
            raise RestoreUnsupported(WRONG_WORKLOAD.format(workload=WORKLOAD_NAMES[workload]))
        if len({ref.ids[0] for ref in refs}) > 1:
            raise RestoreUnsupported(ONE_CONTAINER.format(container=container))
        if len(set(refs)) != len(refs):
            refs = list(dict.fromkeys(refs))
        for name in TARGET_FIELDS.get(action, ()):
            if not str(target.get(name) or "").strip():
                raise RestoreTargetInvalid(TARGET_MISSING.format(field=name))
        planner = {"exchange": self._exchange, "onedrive": self._onedrive, "sharepoint": self._sharepoint,
                   "teams": self._teams}[workload]
        path, body = planner(action, list(refs), target, options)
        is_restore = action in RESTORE_ACTIONS
        if is_restore:
            body = {**(body or {}), **(credentials.body_fields() if credentials else {})}
        if self.version <= 5:
            path, body = f"{path}/Action", _v5_action_body(action, body)
        else:
            path = f"{path}/{_V6_VERBS.get(action, 'restore')}"
        return PlannedCall(action=action, path=path, body=body, is_restore=is_restore,
                           file_format=DOWNLOAD_FORMATS.get(action, ""),
                           range_documented=(action == "exchange.export_pst" and refs[0].kind == "mbx"
                                             and self.version >= 7),
                           stem=DEFAULT_STEMS.get(action, ""))

    def _path(self, template: str, *ids: str) -> str:
        return self.dialect.path("RestoreSessions/{}/" + template, self.session_id, *ids)

    # -- Exchange (BROWSE-RESTORE.md §2.3, §2.8) -------------------------------------------------------------

    def _exchange(self, action: str, refs: list[NodeRef], target: Mapping[str, Any],
                  options: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None]:
        kinds = {ref.kind for ref in refs}
        mailbox = refs[0].ids[0]
        if action == "exchange.save_msg" and (kinds != {"mitm"} or len(refs) != 1):
            raise RestoreUnsupported("Save as MSG takes exactly one mail item.")
        body: dict[str, Any] = {}
        if kinds == {"mitm"}:
            if len(refs) == 1:
                path = self._path("organization/mailboxes/{}/items/{}", mailbox, refs[0].ids[1])
            else:
                path = self._path("organization/mailboxes/{}/items", mailbox)
                body["items"] = [{"id": ref.ids[1]} for ref in refs]
        elif kinds == {"mfld"} and len(refs) == 1:
            path = self._path("organization/mailboxes/{}/folders/{}", mailbox, refs[0].ids[1])
        elif kinds == {"mbx"}:
            path = self._path("organization/mailboxes/{}", mailbox)
        else:
            raise RestoreUnsupported("VB365 takes one mailbox, one folder, or items of one mailbox at a time: "
                                     "select either items or a single folder.")
        if action in ("exchange.restore_original", "exchange.restore_to_mailbox"):
            for option, wire in (("changed_items", "changedItems"), ("deleted_items", "deletedItems"),
                                 ("mark_restored_as_unread", "markRestoredAsUnread")):
                if options.get(option) is not None:
                    body[wire] = bool(options[option])
            if action == "exchange.restore_to_mailbox":
                body["mailbox"] = str(target["mailbox"]).strip()
                if str(target.get("folder") or "").strip():
                    body["folder"] = str(target["folder"]).strip()
                if target.get("cas_server"):
                    body["casServer"] = str(target["cas_server"])
        elif action == "exchange.export_pst":
            limit = options.get("pst_size_limit_bytes")
            if limit not in (None, "", 0):
                if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
                    raise RestoreRequestInvalid(PST_LIMIT)
                body.update(enablePstSizeLimit=True, pstSizeLimitBytes=limit)
        return path, body or None

    # -- OneDrive (§2.4) --------------------------------------------------------------------------------------

    def _onedrive(self, action: str, refs: list[NodeRef], target: Mapping[str, Any],
                  options: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None]:
        kinds = {ref.kind for ref in refs}
        drive = refs[0].ids[0]
        body: dict[str, Any] = {}
        if kinds == {"drv"}:
            path = self._path("Organization/OneDrives/{}", drive)
        elif kinds == {"dfld"}:
            if len(refs) == 1:
                path = self._path("Organization/OneDrives/{}/Folders/{}", drive, refs[0].ids[1])
            else:
                path = self._path("Organization/OneDrives/{}/Folders", drive)
                body["folders"] = [{"id": ref.ids[1]} for ref in refs]
        elif kinds == {"ddoc"}:
            if action == "onedrive.copy_to" and self.version in (6, 7):
                # Reference: BROWSE-RESTORE.md §2.4, the document variants of copyTo exist in v8 only.
                raise RestoreUnsupported("Copying documents to another OneDrive needs VB365 API v8 (this server "
                                         f"speaks v{self.version}): copy their folder instead.")
            if len(refs) == 1:
                path = self._path("Organization/OneDrives/{}/Documents/{}", drive, refs[0].ids[1])
            else:
                path = self._path("Organization/OneDrives/{}/Documents", drive)
                body["documents"] = [{"id": ref.ids[1]} for ref in refs]
        else:
            raise RestoreUnsupported("VB365 takes the whole OneDrive, folders, or documents at a time: select "
                                     "either folders or documents.")
        if action == "onedrive.restore_original":
            document_action = str(options.get("document_action") or "Overwrite").capitalize()
            if document_action not in ("Overwrite", "Keep"):
                raise RestoreRequestInvalid("The document action must be Overwrite or Keep.")
            body["documentAction"] = document_action
        elif action == "onedrive.copy_to":
            body["onedrive"] = _onedrive_target(str(target["onedrive"]).strip())
            if str(target.get("folder") or "").strip():
                body["folder"] = str(target["folder"]).strip()
            version = options.get("document_version")
            if version:
                body["documentVersion"] = _choice(version, ("All", "Last"), "document version")
        elif action == "onedrive.save" and kinds == {"ddoc"} and len(refs) == 1:
            # Reference: §2.4, one document with `asZip: false` is the file itself.
            body["asZip"] = False
        return path, body or None

    # -- SharePoint (§2.5) ------------------------------------------------------------------------------------

    def _sharepoint(self, action: str, refs: list[NodeRef], target: Mapping[str, Any],
                    options: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None]:
        kinds = {ref.kind for ref in refs}
        site = refs[0].ids[0]
        body: dict[str, Any] = {}
        if kinds == {"sdoc"}:
            if len(refs) == 1:
                path = self._path("Organization/Sites/{}/Documents/{}", site, refs[0].ids[1])
                if action == "sharepoint.save":
                    body["asZip"] = True
            else:
                path = self._path("Organization/Sites/{}/Documents", site)
                body["documents"] = [{"id": ref.ids[1]} for ref in refs]
        elif kinds == {"sfld"}:
            if len(refs) == 1:
                path = self._path("Organization/Sites/{}/Folders/{}", site, refs[0].ids[1])
            else:
                path = self._path("Organization/Sites/{}/Folders", site)
                body["folders"] = [{"id": ref.ids[1]} for ref in refs]
        elif kinds == {"slib"} and len(refs) == 1:
            if action == "sharepoint.restore_original" and self.version <= 5:
                raise RestoreUnsupported("Restoring a whole library needs VB365 API v6 or later: select its "
                                         "folders or documents.")
            path = self._path("Organization/Sites/{}/Libraries/{}", site, refs[0].ids[1])
        else:
            raise RestoreUnsupported("VB365 takes documents or folders of one library at a time, or one library: "
                                     "select either documents or folders.")
        if action == "sharepoint.restore_original":
            # Reference: §4.3, `restorePermissions` is non-nullable from v8; VB365's own default restores them.
            body["restorePermissions"] = bool(options.get("restore_permissions", True))
            if options.get("document_version"):
                body["documentVersion"] = _choice(options["document_version"], ("All", "Last"), "document version")
        return path, body or None

    # -- Teams (§2.6) -----------------------------------------------------------------------------------------

    def _teams(self, action: str, refs: list[NodeRef], target: Mapping[str, Any],
               options: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None]:
        if self.version < 5:
            raise RestoreUnsupported(TEAMS_NEED.format(version=self.version))
        kinds = {ref.kind for ref in refs}
        team = refs[0].ids[0]
        channels = {ref.ids[1] for ref in refs if len(ref.ids) > 1}
        if len(channels) > 1:
            raise RestoreUnsupported("Every selected Teams entry must be in the same channel.")
        channel = next(iter(channels), "")
        if action == "teams.export_posts":
            return self._teams_export(refs, kinds, team, channel)
        changed = bool(options.get("restore_changed_items", True))
        missing = bool(options.get("restore_missing_items", True))
        single = len(refs) == 1
        if kinds == {"team"}:
            self._teams_v6("a whole team")
            return self._path("organization/teams/{}", team), {
                "restoreChangedItems": changed, "restoreMissingItems": missing,
                "restoreMembers": bool(options.get("restore_members", False)),
                "restoreSettings": bool(options.get("restore_settings", False))}
        if kinds == {"chan"} and single:
            self._teams_v6("a whole channel")
            return self._path("organization/teams/{}/channels/{}", team, channel), {
                "restoreChangedItems": changed, "restoreMissingItems": missing}
        if kinds == {"ctabs"} and single:
            self._teams_v6("a channel's tabs")
            return self._path("organization/teams/{}/channels/{}/tabs", team, channel), {
                "restoreChangedTabs": changed, "restoreMissingTabs": missing}
        if kinds == {"cposts"} and single:
            return self._path("organization/teams/{}/posts", team), {"channelId": channel}
        if kinds == {"post"}:
            # Reference: §2.6, admins restore a channel's posts by date range (RESTRestorePostsOptions
            # {channelId*, from?, to?}); selected posts become the range from the oldest to the newest.
            body: dict[str, Any] = {"channelId": channel}
            if self.post_window:
                body["from"], body["to"] = self.post_window
            return self._path("organization/teams/{}/posts", team), body
        files = {"restoreChangedItems": changed, "restoreMissingItems": missing,
                 "fileVersion": _choice(options.get("file_version") or "Last", ("All", "Last"), "file version")}
        if kinds == {"cfiles"} and single:
            return self._path("organization/teams/{}/files", team), {**files, "channelId": channel}
        if kinds <= {"tfile", "tfld"}:
            if single and kinds == {"tfile"} and self.version >= 6:
                if self.version >= 8:
                    return self._path("organization/teams/{}/channels/{}/files/{}", team, channel,
                                      refs[0].ids[2]), files
                return self._path("organization/teams/{}/files/{}", team, refs[0].ids[2]), files
            return self._path("organization/teams/{}/files", team), {**files,
                                                                   "files": [{"id": ref.ids[2]} for ref in refs]}
        raise RestoreUnsupported("VB365 restores one team, one channel, or the posts, files or tabs of one channel at "
                                 "a time: select entries of one kind.")

    def _teams_v6(self, what: str) -> None:
        if self.version <= 5:
            raise RestoreUnsupported(f"Restoring {what} needs VB365 API v6 or later (this server speaks "
                                     f"v{self.version}): select its posts or files.")

    def _teams_export(self, refs: list[NodeRef], kinds: set[str], team: str,
                      channel: str) -> tuple[str, dict[str, Any] | None]:
        if kinds in ({"chan"}, {"cposts"}) and len(refs) == 1:
            return self._path("organization/teams/{}/posts", team), {"channelId": channel}
        if kinds == {"post"}:
            if len(refs) == 1:
                return self._path("organization/teams/{}/posts/{}", team, refs[0].ids[2]), None
            posts = [{"postId": _post_id(ref)} for ref in refs]
            return self._path("organization/teams/{}/posts", team), {"posts": posts}
        raise RestoreUnsupported("Export posts takes a channel, its Posts folder, or posts of one channel.")


# The verb of each action: v6+ ends the path with it (restores without one end in `restore`); v4/v5 send it as
# the only key of the `…/Action` body (BROWSE-RESTORE.md §2.8).
_V6_VERBS = {"exchange.save_msg": "save", "exchange.export_pst": "exportToPst",
             "exchange.restore_to_mailbox": "restoreTo", "onedrive.copy_to": "copyTo", "onedrive.save": "save",
             "sharepoint.save": "save", "teams.export_posts": "export"}
_V5_VERBS = {"exchange.restore_original": "restoretoOriginallocation", "exchange.restore_to_mailbox": "restoreTo",
             "exchange.save_msg": "savetoMsg", "exchange.export_pst": "exportToPst",
             "onedrive.restore_original": "restoretoOriginallocation", "onedrive.copy_to": "copyTo",
             "onedrive.save": "save", "sharepoint.restore_original": "restoreTo", "sharepoint.save": "save",
             "teams.restore_original": "restore", "teams.export_posts": "export"}


def _v5_action_body(action: str, body: dict[str, Any] | None) -> dict[str, Any]:
    """The v4/v5 `…/Action` body: the verb as its only key, the options inside (a save without any is a ZIP)."""
    verb = _V5_VERBS[action]
    if verb == "save" and body is None:
        body = {"asZip": True}
    return {verb: body}


def _choice(value: Any, allowed: tuple[str, ...], what: str) -> str:
    for each in allowed:
        if str(value).lower() == each.lower():
            return each
    raise RestoreRequestInvalid(f"The {what} must be one of {', '.join(allowed)}.")


def _onedrive_target(value: str) -> dict[str, str]:
    """A RESTOneDrive naming the target: by URL, by id (two GUIDs), or by the owner's name."""
    if value.lower().startswith(("https://", "http://")):
        return {"url": value}
    if _DOUBLE_GUID.match(value):
        return {"id": value}
    return {"name": value}


def _post_id(ref: NodeRef) -> int | str:
    # Reference: BROWSE-RESTORE.md §0 item 8, `postId` is int64.
    return int(ref.ids[2]) if ref.ids[2].isdigit() else ref.ids[2]


def check_selection(action: str, refs: Sequence[NodeRef], *, api_version: int,
                    target: Mapping[str, Any] | None = None, options: Mapping[str, Any] | None = None) -> None:
    """Raise RestoreUnsupported / RestoreTargetInvalid / RestoreRequestInvalid if VB365 cannot do `action` on
    `refs` in one call on this API version. No HTTP."""
    _Planner(api_version, "check", post_window=("", "")).plan(action, refs, target or {}, options or {}, None)


# -- the restorer ---------------------------------------------------------------------------------------------

class SessionRestorer:
    """Item actions inside one restore session, as the given client (service account or tenant)."""

    def __init__(self, client: UpstreamClient, session_id: str, api_version: int | None = None) -> None:
        """`api_version`: the version the action was checked against (a job's); when the server is now
        configured for another one, every call is refused with a message instead of speaking the wrong dialect."""
        self.client = client
        self.session_id = session_id
        self.version = client.dialect.version
        self._expected_version = api_version

    def plan(self, action: str, refs: Sequence[NodeRef], *, target: Mapping[str, Any] | None = None,
             options: Mapping[str, Any] | None = None, credentials: RestoreCredentials | None = None,
             post_window: tuple[str, str] | None = None) -> PlannedCall:
        self._check_version()
        return _Planner(self.version, self.session_id, post_window).plan(action, refs, target or {}, options or {},
                                                                         credentials)

    def _check_version(self) -> None:
        if self._expected_version is not None and self._expected_version != self.version:
            raise RestoreUnsupported(VERSION_CHANGED.format(then=self._expected_version, now=self.version))

    # Reference: S6-S8 RestoreSession_DeviceCodeAction POST …/organization/restoreDeviceCode (v4+ per VR)
    def device_code(self) -> DeviceCodeDTO:
        self._check_version()
        if self.version < 4:
            raise RestoreUnsupported(ACTIONS_NEED.format(version=self.version))
        path = BrowseDialect(self.version).path("RestoreSessions/{}/organization/restoreDeviceCode", self.session_id)
        return DeviceCodeDTO.from_api(self.client._request("POST", path, json={}))

    def restore(self, action: str, refs: Sequence[NodeRef], *, target: Mapping[str, Any] | None = None,
                options: Mapping[str, Any] | None = None, credentials: RestoreCredentials,
                timeout: float = DEFAULT_RESTORE_TIMEOUT) -> RestoreStartedDTO:
        """Send the restore (one POST, never retried). v4–v7 wait up to `timeout` seconds for its statistics."""
        self.plan(action, refs, target=target, options=options, post_window=("", ""))   # refuse before any call
        if action not in RESTORE_ACTIONS:
            raise RestoreUnsupported(NOT_A_RESTORE)
        if not credentials.kind:
            raise RestoreCredentialsRefused(CREDENTIALS_NEEDED)
        posts_only = action == "teams.restore_original" and {ref.kind for ref in refs} == {"post"}
        window = self._post_window(refs) if posts_only else None
        call = self.plan(action, refs, target=target, options=options, credentials=credentials, post_window=window)
        with self._post(call, credentials=credentials, read_timeout=timeout) as response:
            payload = _json(response)
        if self.version >= 8:
            # Reference: BROWSE-RESTORE.md §2.1, v8 answers RESTAsyncRestoreResponse {sessionId*}.
            run_id = payload.get("sessionId") if isinstance(payload, Mapping) else None
            if not run_id:
                raise errors.UpstreamBadResponse("The VB365 server accepted the restore but sent no `sessionId`.",
                                                 status_code=response.status_code, maybe_processed=True)
            return RestoreStartedDTO(counts=None, run_id=str(run_id))
        try:
            return RestoreStartedDTO(counts=counts_from_statistics(payload))
        except errors.UpstreamBadResponse as exc:
            exc.maybe_processed = True
            raise

    # Reference: S8 RestoreSession_GetRestoreStatistics GET /v8/RestoreSessions/{id}/Statistics, and
    # RestoreSession_GetEvents GET /v8/RestoreSessions/{id}/Events (BROWSE-RESTORE.md §4.1)
    def run_progress(self, run_id: str, *, events_offset: int = 0, max_events: int = 1000) -> RunProgressDTO:
        """How far a v8 run got. Plain GETs: safe to repeat, e.g. after a worker restarted."""
        self._check_version()
        if self.version < 8:
            raise RestoreUnsupported(f"Restore runs are read this way from VB365 API v8 (this server speaks "
                                     f"v{self.version}).")
        run = quote(run_id, safe="")
        counts = self._run_counts(run)
        finished = counts.total is not None and counts.done >= counts.total
        state = "stopped" if finished else ""
        if not finished:
            # The counts do not add up (yet): the run's own state says whether it ended anyway (stopped).
            session = self.client.get_restore_session(run)
            state = session.state.lower()
            finished = state == "stopped" or session.end_time is not None
            if finished:
                # The run may have finished its last items between the two reads: statistics read after it was
                # seen stopped are final.
                counts = self._run_counts(run)
        # Read after the state, so a finished run's events are all there.
        events, next_offset, more = self._finished_events(run, events_offset, max_events)
        return RunProgressDTO(finished=finished, counts=counts, events=tuple(events), next_event_offset=next_offset,
                              state=state, more_events=more)

    def _run_counts(self, run: str) -> RestoreCountsDTO:
        return counts_from_statistics(self.client._request("GET", f"RestoreSessions/{run}/Statistics"))

    def _finished_events(self, run: str, offset: int, max_events: int) -> tuple[list[RunEventDTO], int, bool]:
        """Events from `offset` up to the first one still running (read again next time)."""
        found: list[RunEventDTO] = []
        while len(found) < max_events:
            page = self.client.list_restore_session_events(run, offset=offset + len(found),
                                                           limit=min(EVENTS_PAGE, max_events - len(found)))
            for event in page.items:
                if event.status == "Running":
                    return found, offset + len(found), False
                found.append(event)
            if not page.has_more or not page.items:
                return found, offset + len(found), False
        return found, offset + len(found), True

    def _post_window(self, refs: Sequence[NodeRef]) -> tuple[str, str]:
        """The creation times of the oldest and newest selected Teams posts (read back by id)."""
        if len(refs) > MAX_POSTS_LOOKED_UP:
            raise RestoreUnsupported(f"Select at most {MAX_POSTS_LOOKED_UP} posts, or restore their channel's Posts.")
        browser = SessionBrowser(self.client, self.session_id, "teams")
        times = []
        for ref in refs:
            created = browser.node(ref).details.get("created_time")
            if not created:
                raise errors.UpstreamBadResponse("The VB365 server sent a Teams post without `createdTime`.")
            times.append(str(created))
        return min(times), max(times)

    @contextlib.contextmanager
    def download(self, action: str, refs: Sequence[NodeRef], *, options: Mapping[str, Any] | None = None,
                 range_start: int = 0, timeout: float = DEFAULT_RESTORE_TIMEOUT,
                 file_stem: str = "") -> Iterator[DownloadStream]:
        """Send a save or export and stream its file. `timeout` is the read timeout: the wait for the first
        byte (VB365 builds the file first) and between chunks. `range_start` > 0 asks to resume."""
        call = self.plan(action, refs, options=options)
        if call.is_restore:
            raise RestoreUnsupported(NOT_A_DOWNLOAD)
        headers = {"Accept": "application/octet-stream, application/json",
                   # Byte-exact lengths and offsets: no transfer compression.
                   "Accept-Encoding": "identity"}
        if range_start > 0:
            headers["Range"] = f"bytes={range_start}-"
        with self._post(call, credentials=None, read_timeout=timeout, stream=True, headers=headers) as response:
            yield DownloadStream(response, call, stem=file_stem)

    # -- HTTP ---------------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _post(self, call: PlannedCall, *, credentials: RestoreCredentials | None, read_timeout: float,
              stream: bool = False, headers: dict[str, str] | None = None) -> Iterator[requests.Response]:
        """POST `call` once (again only after a 401: the server refused it unread). Yields the 2xx response."""
        client = self.client
        url = f"{client.config.base_url}/{client.dialect.prefix}/{call.path}"
        access_token = client._tokens.access_token()
        response = self._send(url, call, access_token, read_timeout, stream, headers, credentials)
        if response.status_code == 401:
            response.close()
            access_token = client._tokens.renew_after_rejection(access_token)
            response = self._send(url, call, access_token, read_timeout, stream, headers, credentials)
        try:
            if response.status_code >= 400:
                raise _refined(response, call, credentials)
            yield response
        finally:
            response.close()

    def _send(self, url: str, call: PlannedCall, access_token: str, read_timeout: float, stream: bool,
              headers: dict[str, str] | None, credentials: RestoreCredentials | None) -> requests.Response:
        started = time.monotonic()
        connect_timeout = self.client.config.timeout[0]
        try:
            response = self.client._session.post(url, json=call.body, headers=headers, stream=stream,
                                                 auth=BearerAuth(access_token), timeout=(connect_timeout, read_timeout))
        except requests.exceptions.ConnectTimeout:
            raise errors.UpstreamUnavailable("The VB365 server did not accept a connection in time.") from None
        except requests.exceptions.Timeout:
            what = "finish the restore" if call.is_restore else "start sending the file"
            raise errors.UpstreamTimeout(f"The VB365 server did not {what} within {read_timeout:g} seconds; it may "
                                         "still be working on it.", maybe_processed=True) from None
        except requests.exceptions.SSLError:
            raise errors.UpstreamUnavailable(
                "The VB365 server's TLS certificate is not trusted (see VB365_VERIFY_TLS).") from None
        except requests.exceptions.ConnectionError as exc:
            never = _never_connected(exc)
            message = "The VB365 server cannot be reached." if never else \
                "The connection to the VB365 server broke before it answered; the action may have run."
            raise errors.UpstreamUnavailable(message, maybe_processed=not never) from None
        logger.debug("POST %s -> %s in %.0f ms (%s)", url.split("?")[0], response.status_code,
                     (time.monotonic() - started) * 1000, call.action)
        return response


def _refined(response: requests.Response, call: PlannedCall,
             credentials: RestoreCredentials | None) -> errors.UpstreamError:
    """The error family member for a refused action, the server's words kept (and any secret blotted out)."""
    try:
        UpstreamClient._raise_for_status(response)
    except errors.UpstreamError as exc:
        error = exc
    else:  # pragma: no cover - only called for statuses >= 400
        error = errors.UpstreamError(status_code=response.status_code)
    message = _scrub(error.message, credentials)
    kwargs: dict[str, Any] = {"status_code": error.status_code, "body": _scrub(error.body or "", credentials),
                              "error_code": error.error_code}
    lowered = message.lower()
    status = response.status_code
    if status == 403 and call.is_restore:
        return RestoreCredentialsRefused(message, **kwargs)
    if status == 400 and call.is_restore and credentials is not None and credentials.user_code and "code" in lowered:
        expired = "expired" in lowered or "not valid" in lowered or "invalid" in lowered
        return RestoreDeviceCodeNotApproved(message, expired=expired, **kwargs)
    if status == 400 and call.is_restore and ("credential" in lowered or "password" in lowered
                                              or "authentication" in lowered):
        return RestoreCredentialsRefused(message, **kwargs)
    if status == 400:
        cls = RestoreTargetInvalid if call.action in TARGET_FIELDS else RestoreRequestInvalid
        return cls(message, **kwargs)
    if status == 416:
        return UpstreamRangeRefused(message, **kwargs)
    if status == 500 and call.file_format == "pst" and "outlook" in lowered:
        return PstExportUnavailable(f"{PstExportUnavailable.default_message} (VB365: {message})", **kwargs)
    if message != error.message or kwargs["body"] != (error.body or ""):
        return type(error)(message, **kwargs)
    return error


def _scrub(text: str, credentials: RestoreCredentials | None) -> str:
    if not credentials or not text:
        return text
    for secret in (credentials.password, credentials.user_code, credentials.certificate_password,
                   credentials.certificate_b64):
        if secret and len(secret) >= 3:
            text = text.replace(secret, "***")
    return text


def _json(response: requests.Response) -> Any:
    if not response.content or response.status_code == 204:
        return None
    try:
        return response.json()
    except ValueError:
        raise errors.UpstreamBadResponse("The VB365 server sent a reply that is not valid JSON.",
                                         status_code=response.status_code, maybe_processed=True) from None


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    reason = exc.args[0] if exc.args else None
    cause = getattr(reason, "reason", reason)
    return isinstance(cause, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.NameResolutionError))


# -- downloads ------------------------------------------------------------------------------------------------

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_FILENAME_STAR = re.compile(r"filename\*\s*=\s*[^']*'[^']*'([^;]+)", re.IGNORECASE)
_FILENAME = re.compile(r'filename\s*=\s*"?([^";]+)"?', re.IGNORECASE)


class DownloadStream:
    """The body of a save or export, read in chunks straight from the connection.

    On 200 the first bytes are read at once to tell the format (a PST export over the size limit is a ZIP);
    they are handed out again as the start of the first chunk.
    """

    def __init__(self, response: requests.Response, call: PlannedCall, *, stem: str = "") -> None:
        self._raw: urllib3.BaseHTTPResponse = response.raw
        self.status = response.status_code
        self.content_type = response.headers.get("Content-Type", "application/octet-stream")
        self.content_length = _int_header(response.headers.get("Content-Length"))
        self.range_start = 0
        self.total_size = self.content_length
        self.bytes_read = 0
        self._pending = b""
        if self.status == 206:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if match:
                self.range_start = int(match.group(1))
                self.total_size = int(match.group(3)) if match.group(3) != "*" else None
            self.file_format = call.file_format
        else:
            self._pending = self._read(SNIFF_BYTES)
            self.file_format = _sniff(self._pending, call.file_format)
        accepts = response.headers.get("Accept-Ranges", "").lower() == "bytes"
        self.resumable = self.status == 206 or accepts or (call.range_documented and self.content_length is not None
                                                           and self.file_format == "pst")
        self.suggested_name = _disposition_name(response.headers.get("Content-Disposition", "")) or \
            _file_name(stem or call.stem or "download", self.file_format)

    def __repr__(self) -> str:
        return (f"DownloadStream(status={self.status}, format={self.file_format!r}, "
                f"content_length={self.content_length}, resumable={self.resumable})")

    def iter_chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        """The body in chunks of at most `size` bytes; UpstreamStreamCut if it ends early or breaks."""
        while True:
            chunk, self._pending = self._pending[:size], self._pending[size:]
            if len(chunk) < size:
                chunk += self._read(size - len(chunk))
            if not chunk:
                break
            yield chunk
        if self.content_length is not None and self.bytes_read < self.content_length:
            raise UpstreamStreamCut(f"The VB365 server's download stopped after {self.bytes_read} of "
                                    f"{self.content_length} bytes.", status_code=self.status)

    def _read(self, size: int) -> bytes:
        try:
            chunk = self._raw.read(size, decode_content=True)
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.ReadTimeoutError,
                urllib3.exceptions.DecodeError, urllib3.exceptions.SSLError, OSError) as exc:
            raise UpstreamStreamCut(f"The VB365 server's download broke after {self.bytes_read} bytes "
                                    f"({type(exc).__name__}).", status_code=self.status) from None
        self.bytes_read += len(chunk)
        return chunk


def _int_header(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def _sniff(head: bytes, default: str) -> str:
    for signature, file_format in _SIGNATURES:
        if head.startswith(signature):
            return file_format
    if head.lstrip()[:5].lower() in (b"<!doc", b"<html"):
        return "html"
    if default in ("msg", "pst", "zip") or not head:
        # Not the container VB365 documents: a plain document (OneDrive/SharePoint save of one file).
        return "file" if default == "zip" else default
    return default


def _disposition_name(header: str) -> str:
    match = _FILENAME_STAR.search(header) or _FILENAME.search(header)
    if not match:
        return ""
    return _safe(unquote(match.group(1)))


def _safe(name: str) -> str:
    cleaned = "".join("_" if ch in '\\/:*?"<>|' or ord(ch) < 32 else ch for ch in name).strip(" .")
    return cleaned[:150] or "download"


def _file_name(stem: str, file_format: str) -> str:
    stem = _safe(stem)
    extension = _EXTENSIONS.get(file_format)
    if not extension or stem.lower().endswith(f".{extension}"):
        return stem
    return f"{stem}.{extension}"


__all__ = [
    "DEFAULT_RESTORE_TIMEOUT", "DownloadStream", "PlannedCall", "PstExportUnavailable", "RestoreCountsDTO",
    "RestoreCredentialsRefused", "RestoreDeviceCodeNotApproved", "RestoreRequestInvalid", "RestoreTargetInvalid",
    "RestoreUnsupported", "SessionRestorer", "UpstreamRangeRefused", "UpstreamStreamCut", "check_selection",
]
