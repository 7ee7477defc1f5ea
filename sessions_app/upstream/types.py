"""Typed views of VB365 payloads. Raw dicts never leave `sessions_app.upstream`.

Each DTO is parsed at the boundary by `from_api`, which accepts every version's shape (missing optional
fields, extra fields, string booleans) and raises UpstreamBadResponse naming the first missing required key.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar

from sessions_app.upstream.errors import UpstreamBadResponse

WORKLOAD_BY_TYPE = {"vex": "exchange", "veod": "onedrive", "vesp": "sharepoint", "vet": "teams"}
TYPE_BY_WORKLOAD = {workload: wire_type for wire_type, workload in WORKLOAD_BY_TYPE.items()}

# Reference: CONTRACT.md §6.2. The v2/v3 docs also list Starting and Stopping; both still hold the session open.
_STATE_BY_WIRE = {"working": "working", "starting": "working", "stopping": "working", "stopped": "stopped"}
_RESULTS = {"success", "warning", "failed"}


def parse_datetime(value: Any, *, key: str = "") -> datetime | None:
    """ISO-8601 (any fraction length, `Z` or an offset) to an aware UTC datetime; None stays None."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise UpstreamBadResponse(f"The VB365 server sent a date Restore Desk cannot read ({key}).")
    text = value.strip().replace("z", "Z")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UpstreamBadResponse(f"The VB365 server sent a date Restore Desk cannot read ({key}).") from None
    if parsed.tzinfo is None:
        # Inferred: VB365 writes UTC when it omits the offset.
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def parse_token_time(value: Any, *, key: str) -> datetime | None:
    """`.issued`/`.expires` of a token answer: RFC-1123 (`Mon, 14 Oct 2019 06:53:32 GMT`) or ISO-8601.

    Reference: CONTRACT.md §3/§11 -- OWIN servers write RFC-1123; the OpenAPI files type both as date-time.
    None and "" stay None; anything else unreadable raises UpstreamBadResponse naming `key`.
    """
    if not (isinstance(value, str) and "," in value):
        return parse_datetime(value, key=key)
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        raise UpstreamBadResponse(f"The VB365 server sent a date Restore Desk cannot read ({key}).") from None
    # RFC-1123 says GMT; a date without a zone is read as UTC too, like parse_datetime does.
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def parse_bool(value: Any) -> bool:
    """VB365 v1 writes `isBackedup` as the string "true"; later versions send JSON booleans."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def workload_for_type(wire_type: Any) -> str:
    workload = WORKLOAD_BY_TYPE.get(str(wire_type or "").lower())
    if workload is None:
        raise UpstreamBadResponse(f"The VB365 server sent an unknown restore session type ({wire_type!r}).")
    return workload


def _require(data: Mapping[str, Any], key: str, what: str) -> Any:
    if not isinstance(data, Mapping):
        raise UpstreamBadResponse(f"The VB365 server sent a {what} that is not a JSON object.")
    value = data.get(key)
    if value in (None, ""):
        raise UpstreamBadResponse(f"The VB365 server sent a {what} without `{key}`.")
    return value


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value)


@dataclass(frozen=True)
class OrganizationDTO:
    id: str
    name: str
    is_backed_up: bool
    first_backup: datetime | None
    last_backup: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> OrganizationDTO:
        return cls(
            id=str(_require(data, "id", "organization")).lower(),
            name=str(_require(data, "name", "organization")),
            is_backed_up=parse_bool(data.get("isBackedup", False)),
            first_backup=parse_datetime(data.get("firstBackuptime"), key="firstBackuptime"),
            last_backup=parse_datetime(data.get("lastBackuptime"), key="lastBackuptime"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class RestorePointDTO:
    id: str
    organization_id: str
    backup_time: datetime
    workloads: tuple[str, ...]
    is_long_term_copy: bool
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> RestorePointDTO:
        flags = (("isExchange", "exchange"), ("isOneDrive", "onedrive"), ("isSharePoint", "sharepoint"),
                 ("isTeams", "teams"))
        backup_time = parse_datetime(_require(data, "backupTime", "restore point"), key="backupTime")
        assert backup_time is not None
        return cls(
            id=str(_require(data, "id", "restore point")),
            organization_id=str(data.get("organizationId") or "").lower(),
            backup_time=backup_time,
            workloads=tuple(workload for key, workload in flags if parse_bool(data.get(key, False))),
            is_long_term_copy=parse_bool(data.get("isLongTermCopy", False)),
            raw=dict(data),
        )


@dataclass(frozen=True)
class RestoreSessionDTO:
    id: str
    workload: str
    name: str
    organization_name: str
    creation_time: datetime
    end_time: datetime | None
    state: str
    result: str
    initiated_by: str
    point_in_time: datetime | None
    details: str
    scope_name: str
    client_host: str
    reason: str
    etag: int | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> RestoreSessionDTO:
        wire_state = str(_require(data, "state", "restore session")).lower()
        state = _STATE_BY_WIRE.get(wire_state)
        if state is None:
            raise UpstreamBadResponse(f"The VB365 server sent an unknown session state ({wire_state!r}).")
        result = _text(data, "result").lower()
        creation_time = parse_datetime(_require(data, "creationTime", "restore session"), key="creationTime")
        assert creation_time is not None
        etag = data.get("eTag")
        return cls(
            id=str(_require(data, "id", "restore session")).lower(),
            workload=workload_for_type(_require(data, "type", "restore session")),
            name=_text(data, "name"),
            organization_name=_text(data, "organization"),
            creation_time=creation_time,
            end_time=parse_datetime(data.get("endTime"), key="endTime"),
            state=state,
            result=result if result in _RESULTS else "",
            initiated_by=_text(data, "initiatedBy"),
            # Reference: CONTRACT.md §6.2, v1 only.
            point_in_time=parse_datetime(data.get("pointInTime"), key="pointInTime"),
            details=_text(data, "details"),
            scope_name=_text(data, "scopeName"),
            client_host=_text(data, "clientHost"),
            reason=_text(data, "reason"),
            etag=int(etag) if isinstance(etag, (int, str)) and str(etag).isdigit() else None,
            raw=dict(data),
        )


@dataclass(frozen=True)
class RestoreSessionEventDTO:
    id: str
    type: str
    status: str
    title: str
    message: str
    order: int
    start_time: datetime | None
    end_time: datetime | None
    duration: str
    item_name: str
    item_type: str
    item_size_bytes: int | None
    source: str
    target: str
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> RestoreSessionEventDTO:
        size = data.get("itemSizeBytes")
        order = data.get("order", 0)
        return cls(
            id=str(_require(data, "id", "restore session event")).lower(),
            type=_text(data, "type") or "None",
            status=_text(data, "status") or "Success",
            title=_text(data, "title"),
            message=_text(data, "message"),
            order=int(order) if isinstance(order, int) or str(order).isdigit() else 0,
            start_time=parse_datetime(data.get("startTime"), key="startTime"),
            end_time=parse_datetime(data.get("endTime"), key="endTime"),
            duration=_text(data, "duration"),
            item_name=_text(data, "itemName"),
            item_type=_text(data, "itemType"),
            item_size_bytes=int(size) if isinstance(size, int) else None,
            source=_text(data, "source"),
            target=_text(data, "target"),
            raw=dict(data),
        )


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a collection. `has_more` follows the server's `next` link, or a full page where none is sent."""

    items: list[T]
    offset: int
    limit: int
    has_more: bool
    # The collection's size where the server says (a v1 array's length, a v6/v7 page's nullable totalCount).
    total: int | None = None


def unwrap_collection(payload: Any, *, what: str) -> tuple[list[Any], bool | None]:
    """Accept a plain array (v1, and v1-v7 organizations) or a page object; return (items, has_next).

    has_next is None for a plain array (the whole collection). For a page it follows the `next` link; a page
    without any `_links` has a next page when it is full (the caller compares with its limit).
    """
    if isinstance(payload, list):
        return payload, None
    if isinstance(payload, Mapping) and isinstance(payload.get("results"), list):
        results = list(payload["results"])
        links = payload.get("_links")
        if isinstance(links, Mapping) and links:
            return results, bool(links.get("next")) and bool(results)
        limit = payload.get("limit")
        return results, isinstance(limit, int) and len(results) >= limit > 0
    raise UpstreamBadResponse(f"The VB365 server sent a {what} list that is neither an array nor a page.")


def parse_each(items: Iterable[Any], parser: Callable[[Any], T]) -> list[T]:
    return [parser(item) for item in items]
