"""Typed views of item actions (restores, saves, exports): what goes in besides the selection, what comes back.

Raw statistics never leave `sessions_app.upstream`: `counts_from_statistics` reads every statistics schema of
BROWSE-RESTORE.md §2.1 (v4–v7 answers of the restore POST, v8 `RESTRestoreSessionStatistics`) into one
RestoreCountsDTO with per-item outcomes.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sessions_app.upstream import errors
from sessions_app.upstream.types import RestoreSessionEventDTO

# Bounds what a reply can make us keep: VB365 lists at most ~1,000 items per answer, but nothing promises it.
MAX_ITEM_OUTCOMES = 5000
MAX_MESSAGES = 200
MESSAGE_CHARS = 1000


@dataclass(frozen=True)
class RestoreCredentials:
    """The Microsoft 365 sign-in a restore carries in its request body (BROWSE-RESTORE.md §2.2).

    One of: user name + password; a device code's `user_code` (approved by the person at the verification
    address); an Entra application with its certificate. Never stored, never logged: repr and str name the
    kind only, so an accidental `%r` in a log line or an exception shows nothing secret.
    """

    user_name: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    user_code: str = field(default="", repr=False)
    application_id: str = field(default="", repr=False)
    certificate_b64: str = field(default="", repr=False)
    certificate_password: str = field(default="", repr=False)
    impersonation_account: str = field(default="", repr=False)

    @property
    def kind(self) -> str:
        """`device_code`, `certificate`, `password`, or "" when none is given."""
        if self.user_code:
            return "device_code"
        if self.application_id or self.certificate_b64:
            return "certificate"
        if self.user_name or self.password:
            return "password"
        return ""

    def __repr__(self) -> str:
        return f"RestoreCredentials(kind={self.kind!r})"

    __str__ = __repr__

    def body_fields(self) -> dict[str, str]:
        """The credential block of a restore body (the same names in v4–v8 for the bodies used here)."""
        if self.user_code:
            return {"userCode": self.user_code}
        if self.application_id or self.certificate_b64:
            fields = {"applicationId": self.application_id, "applicationCertificate": self.certificate_b64}
            if self.certificate_password:
                fields["applicationCertificatePassword"] = self.certificate_password
            if self.impersonation_account:
                fields["impersonationAccountName"] = self.impersonation_account
            return fields
        if self.user_name or self.password:
            return {"userName": self.user_name, "userPassword": self.password}
        return {}


@dataclass(frozen=True)
class DeviceCodeDTO:
    """A device code for the person to approve. The code signs a restore in, so repr shows neither it nor the
    message that repeats it."""

    user_code: str = field(repr=False)
    verification_url: str
    expires_in: int
    message: str = field(repr=False)

    @classmethod
    def from_api(cls, data: Any) -> DeviceCodeDTO:
        # Reference: S6-S8 RestoreSession_DeviceCodeAction -> RESTDeviceCodeResponse
        if not isinstance(data, Mapping) or not data.get("userCode") or not data.get("verificationUrl"):
            raise errors.UpstreamBadResponse("The VB365 server sent a device code answer without its code or address.")
        return cls(user_code=str(data["userCode"]), verification_url=str(data["verificationUrl"]),
                   expires_in=_count(data.get("expiresIn")), message=_short(data.get("message")))


@dataclass(frozen=True)
class ItemOutcomeDTO:
    """What happened to one object VB365 reported on (an issue in v6/v7, every listed item in v8)."""

    name: str
    path: str
    item_type: str
    status: str
    error: str = ""
    warnings: tuple[str, ...] = ()
    item_id: str = ""


@dataclass(frozen=True)
class RestoreCountsDTO:
    """Counts of one restore. `total` is None when the schema has no total (Exchange statistics). What they make
    of a job (succeeded, partially) is the job's rule, decided in restores.services.running."""

    total: int | None
    succeeded: int
    failed: int
    skipped: int
    warnings: int
    items: tuple[ItemOutcomeDTO, ...] = ()
    errors: tuple[str, ...] = ()

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + self.skipped



@dataclass(frozen=True)
class RestoreStartedDTO:
    """v4–v7: `counts` of the finished restore (the POST was held until done). v8: the run's `run_id`."""

    counts: RestoreCountsDTO | None
    run_id: str = ""

    @property
    def is_async(self) -> bool:
        return bool(self.run_id)


RunEventDTO = RestoreSessionEventDTO


@dataclass(frozen=True)
class RunProgressDTO:
    """A v8 run as far as it got. `events` are the finished events from the offset asked for."""

    finished: bool
    counts: RestoreCountsDTO
    events: tuple[RunEventDTO, ...]
    next_event_offset: int
    state: str = ""
    more_events: bool = False     # more finished events wait beyond `max_events`: ask again at once


# -- statistics -------------------------------------------------------------------------------------------

_STATUS_WORDS = {"success": "success", "succeeded": "success", "warning": "warning", "failed": "failed",
                 "skipped": "skipped", "error": "failed"}


def counts_from_statistics(data: Any) -> RestoreCountsDTO:
    """Any statistics schema of BROWSE-RESTORE.md §2.1, told apart by its fields.

    - Exchange folders/items (`createdItemsCount`…), bulk mailboxes/OneDrives (`details[]`),
    - OneDrive/SharePoint items (`restoredItemsCount`, `skippedItemsBy…Count`), lists and webs
      (`restoredListsCount`, `restoredWebsCount`), Teams (`skippedItemsCount` + `restoreIssues`),
    - v8 RESTRestoreSessionStatistics (`items[]` with `status`).
    """
    if not isinstance(data, Mapping):
        raise errors.UpstreamBadResponse("The VB365 server sent restore statistics that are not a JSON object.")
    if isinstance(data.get("details"), list) and ("status" in data or "error" in data):
        return _bulk(data)
    if "createdItemsCount" in data or "mergedItemsCount" in data:
        return _exchange(data)
    if "restoredItemsCount" in data or "restoredListsCount" in data or "restoredWebsCount" in data:
        return _items(data)
    raise errors.UpstreamBadResponse("The VB365 server sent restore statistics Restore Desk does not recognise.")


def _exchange(data: Mapping[str, Any]) -> RestoreCountsDTO:
    """RESTFoldersRestoreStatistics / RESTItemsRestoreStatistics (and a bulk mailbox's `details`)."""
    messages = _messages(data.get("exceptions"))
    if data.get("cannotContinueError"):
        messages = (*messages, _short(data["cannotContinueError"]))
    warnings = _messages(data.get("warnings"))
    return RestoreCountsDTO(
        total=None,
        succeeded=_count(data.get("createdItemsCount")) + _count(data.get("mergedItemsCount")),
        failed=_count(data.get("failedItemsCount")) + _count(data.get("failedFoldersCount")),
        skipped=_count(data.get("skippedItemsCount")),
        warnings=len(warnings),
        items=tuple(ItemOutcomeDTO("", "", "", "failed", error=text) for text in messages),
        errors=messages[:MAX_MESSAGES],
    )


def _items(data: Mapping[str, Any]) -> RestoreCountsDTO:
    """RESTItemRestoreStatistics, RESTListRestoreStatistics, RESTWebRestoreStatistics, Teams RESTRestoreStatistics
    and v8 RESTRestoreSessionStatistics."""
    raw_items = data.get("items") if isinstance(data.get("items"), list) else data.get("restoreIssues")
    items = tuple(_outcome(raw) for raw in _objects(raw_items))
    skipped = (_count(data.get("skippedItemsCount")) + _count(data.get("skippedItemsByErrorCount"))
               + _count(data.get("skippedItemsByNoChangesCount")))
    succeeded = (_count(data.get("restoredItemsCount")) + _count(data.get("restoredListsCount"))
                 + _count(data.get("restoredWebsCount")))
    failed = (_count(data.get("failedItemsCount")) + _count(data.get("failedListsCount"))
              + _count(data.get("failedWebsCount")))
    run_warnings = _messages(data.get("warnings"))
    item_warnings = sum(1 for item in items if item.status == "warning")
    total = data.get("totalItemsCount")
    return RestoreCountsDTO(
        total=_count(total) if total is not None else None,
        succeeded=succeeded, failed=failed, skipped=skipped,
        warnings=len(run_warnings) + item_warnings + _count(data.get("failedRestrictionsCount")),
        items=items,
        errors=_messages(data.get("errors")),
    )


def _bulk(data: Mapping[str, Any]) -> RestoreCountsDTO:
    """RESTBulkRestoreStatistics / RESTSharePointBulkRestoreStatistics: one row per mailbox or OneDrive."""
    succeeded = failed = skipped = warnings = 0
    outcomes: list[ItemOutcomeDTO] = []
    messages: list[str] = [_short(data["error"])] if data.get("error") else []
    for row in _objects(data.get("details")):
        raw_inner = row.get("details")
        inner: Mapping[str, Any] = raw_inner if isinstance(raw_inner, Mapping) else {}
        part = _exchange(inner) if "createdItemsCount" in inner else _items(inner)
        succeeded, failed = succeeded + part.succeeded, failed + part.failed
        skipped, warnings = skipped + part.skipped, warnings + part.warnings
        owner = row.get("mailbox") or row.get("oneDrive") or {}
        name = _short(owner.get("name") or owner.get("email") or owner.get("url")) if isinstance(owner, Mapping) \
            else _short(owner)
        outcomes.append(ItemOutcomeDTO(name, "", "Mailbox" if "mailbox" in row else "OneDrive",
                                       _status(row.get("status")), error=_short(row.get("error"))))
        outcomes.extend(part.items)
    return RestoreCountsDTO(total=None, succeeded=succeeded, failed=failed, skipped=skipped, warnings=warnings,
                            items=tuple(outcomes[:MAX_ITEM_OUTCOMES]), errors=tuple(messages))


def _outcome(raw: Mapping[str, Any]) -> ItemOutcomeDTO:
    error = _short(raw.get("error"))
    warnings = _messages(raw.get("warnings"))
    if raw.get("status"):
        status = _status(raw.get("status"))
    else:
        # v6/v7 `restoreIssues` carry no status: an error is a failure, warnings a warning, neither a skip.
        status = "failed" if error else "warning" if warnings else "skipped"
    name = _short(raw.get("name") or raw.get("title") or raw.get("mailboxEmail") or raw.get("oneDriveUrl"))
    return ItemOutcomeDTO(name=name, path=_short(raw.get("path")),
                          item_type=_short(raw.get("itemType") or raw.get("type")), status=status, error=error,
                          warnings=warnings, item_id=_short(raw.get("id")))


def _status(value: Any) -> str:
    return _STATUS_WORDS.get(str(value or "").lower(), "warning")


def _objects(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [each for each in value[:MAX_ITEM_OUTCOMES] if isinstance(each, Mapping)]


def _messages(value: Any) -> tuple[str, ...]:
    if not isinstance(value, Iterable) or isinstance(value, (str, bytes, Mapping)):
        return ()
    out = []
    for each in list(value)[:MAX_MESSAGES]:
        text = each.get("message") or each.get("error") if isinstance(each, Mapping) else each
        if text:
            out.append(_short(text))
    return tuple(out)


def _count(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, (int, float)):
        return max(0, int(value))
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return 0


def _short(value: Any) -> str:
    return str(value)[:MESSAGE_CHARS] if value not in (None, "") else ""
