"""Typed views of what a restore session holds (mailboxes, drives, sites, teams and everything under them).

Raw browse payloads never leave `sessions_app.upstream`: `upstream.browse` turns each into a BrowseEntryDTO
whose `ref` says how to reach it again (an internal kind and the upstream ids on the way to it).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The kinds the portal shows (the API's `kind`), by internal kind of a reference.
PUBLIC_KIND = {
    "mbx": "mailbox", "mfld": "folder", "mitm": "item",
    "drv": "drive", "dfld": "folder", "ddoc": "document", "dver": "version",
    "site": "site", "slib": "library", "slst": "list", "sfld": "folder", "sdoc": "document", "sdver": "version",
    "sitm": "item", "siver": "version", "satt": "attachment",
    "team": "team", "chan": "channel", "cposts": "folder", "cfiles": "folder", "ctabs": "folder",
    "post": "post", "tfld": "folder", "tfile": "file", "tver": "version", "tab": "tab",
}
# How many upstream ids each internal kind carries (its path from the session's top level).
REF_ARITY = {
    "mbx": 1, "mfld": 2, "mitm": 2, "drv": 1, "dfld": 2, "ddoc": 2, "dver": 3, "site": 1, "slib": 2, "slst": 2,
    "sfld": 3, "sdoc": 2, "sdver": 3, "sitm": 2, "siver": 3, "satt": 3, "team": 1, "chan": 2, "cposts": 2,
    "cfiles": 2, "ctabs": 2, "post": 3, "tfld": 3, "tfile": 3, "tver": 4, "tab": 3,
}
# The containers whose first opening is audited, by workload.
CONTAINER_KINDS = {"mbx": "mailbox", "drv": "drive", "site": "site", "team": "team"}
# Which container kind each internal kind lives in (its first id is the container's id).
CONTAINER_OF = {kind: ("mbx" if kind.startswith("m") else "drv" if kind.startswith("d")
                       else "site" if kind.startswith("s") else "team") for kind in PUBLIC_KIND}
CONTAINER_OF.update({"chan": "team", "cposts": "team", "cfiles": "team", "ctabs": "team", "post": "team",
                     "tfld": "team", "tfile": "team", "tver": "team", "tab": "team"})

_SKIPPED_DETAIL_KEYS = {"id", "_links", "_actions", "mailboxId", "oneDriveId", "siteId", "teamId", "channelId",
                        "itemId", "parentId", "postId", "changeKey", "parentChangeKey", "versionId"}


@dataclass(frozen=True)
class NodeRef:
    """Where a node is: an internal kind and the upstream ids from the session's top level down to it.
    `("top", ())` is the session's top level."""

    kind: str
    ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind != "top" and (self.kind not in REF_ARITY or len(self.ids) != REF_ARITY[self.kind]):
            raise ValueError(f"not a browse reference: {self.kind} {self.ids}")
        if not all(isinstance(part, str) and part for part in self.ids):
            raise ValueError("browse reference ids must be non-empty strings")

    @property
    def public_kind(self) -> str:
        return PUBLIC_KIND.get(self.kind, "")

    @property
    def container(self) -> tuple[str, str] | None:
        """(container kind, container id) this node lives in; None for the top level."""
        if self.kind == "top":
            return None
        return CONTAINER_KINDS[CONTAINER_OF[self.kind]], self.ids[0]


@dataclass(frozen=True)
class BrowseEntryDTO:
    ref: NodeRef
    name: str
    has_children: bool
    size_bytes: int | None = None
    modified: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.ref.public_kind


@dataclass(frozen=True)
class BrowsePageDTO:
    """Entries from `offset`; `next_offset` is None on the last page. `phase_sizes` are the sizes of the
    listing's parts (folders before items, ...) learnt so far; `set_ids` the search sets opened per part."""

    entries: list[BrowseEntryDTO]
    offset: int
    next_offset: int | None
    phase_sizes: tuple[int, ...] = ()
    set_ids: tuple[str, ...] = ()


def snake_case(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


def details_from(raw: Mapping[str, Any], *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The payload's own fields in snake_case, without ids and links; lists of objects kept as such."""
    details: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _SKIPPED_DETAIL_KEYS or key in skip:
            continue
        if isinstance(value, list):
            value = [details_from(each) if isinstance(each, Mapping) else each for each in value]
        elif isinstance(value, Mapping):
            value = details_from(value)
        details[snake_case(key)] = value
    return details


def major_version(value: Any) -> int:
    """`"3.0"` (documents), `3` (Teams files) -> 3; anything unreadable -> 1."""
    try:
        return int(float(str(value)))
    except (TypeError, ValueError):
        return 1


def size_of(raw: Mapping[str, Any]) -> int | None:
    value = raw.get("sizeBytes")
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
