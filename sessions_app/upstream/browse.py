"""Browsing a restore session's contents, v4 to v8, each version in its own dialect.

Every call goes through `UpstreamClient._request` (its timeout, retries and error family). Listings that VB365
splits in parts (a mail folder's subfolders, then its items) are read as one sequence: `offset` counts from the
start of the first part, and the sizes of finished parts are handed back so that later pages skip them.

Reference: BROWSE-RESTORE.md §1-§6 (paths and shapes per version), CONTRACT.md §1 (paging and links).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from sessions_app.upstream import errors
from sessions_app.upstream.browse_types import (
    BrowseEntryDTO,
    BrowsePageDTO,
    NodeRef,
    details_from,
    major_version,
    size_of,
)
from sessions_app.upstream.client import UpstreamClient

BROWSE_NEEDS = "Browsing a restore session's contents needs VB365 API v4 or later (this server speaks v{version})."
SEARCH_NEEDS = "Searching a restore session needs VB365 API v6 or later (this server speaks v{version})."
SEARCH_NOT_HERE = "Search works within a mailbox, drive, site, team or one of their folders."


class BrowseUnsupported(Exception):
    """The configured API version (or the node) cannot do this; `message` says what would."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


Parser = Callable[[Mapping[str, Any]], BrowseEntryDTO]


@dataclass(frozen=True)
class Source:
    """One upstream collection: GET `path` with `params`, or POST `body` (a search) to it."""

    path: str
    parser: Parser
    params: Mapping[str, Any] | None = None
    body: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class BrowseDialect:
    """The wire differences of browsing between versions.

    - v4/v5 capitalise every path segment (`Organization/Mailboxes/{id}/Folders`) and write top levels as
      `parentId=null`; v6+ spell `organization/mailboxes`, `Organization/OneDrives` and write `root`.
    - Mail items are filtered by `folderId` to v6 and by `parentId` from v7.
    - Teams post ids are `id` in v5 and `postId` from v6; a Teams file by id moved under its channel in v8,
      and file versions exist in v7 (`files/{id}/versions`) and v8 (channel path).
    - Searches exist from v6.
    """

    version: int

    @property
    def can_browse(self) -> bool:
        return self.version >= 4

    @property
    def can_search(self) -> bool:
        return self.version >= 6

    @property
    def top_word(self) -> str:
        return "root" if self.version >= 6 else "null"

    @property
    def mail_item_filter(self) -> str:
        return "parentId" if self.version >= 7 else "folderId"

    @property
    def post_id_key(self) -> str:
        return "id" if self.version <= 5 else "postId"

    @property
    def has_team_file_versions(self) -> bool:
        return self.version >= 7

    def path(self, template: str, *ids: str) -> str:
        """`template` with `{}` for each id, ids percent-encoded (real ids hold `/`, `+` and `=`)."""
        if self.version <= 5:
            template = "/".join(part if part == "{}" else part[:1].upper() + part[1:] for part in template.split("/"))
        return template.format(*(quote(str(each), safe="") for each in ids))


class SessionBrowser:
    """Reads one restore session's contents as the given client (service account or tenant)."""

    def __init__(self, client: UpstreamClient, session_id: str, workload: str) -> None:
        self.client = client
        self.dialect = BrowseDialect(client.dialect.version)
        if not self.dialect.can_browse:
            raise BrowseUnsupported(BROWSE_NEEDS.format(version=self.dialect.version))
        self.session_id = session_id
        self.workload = workload

    # -- paths ------------------------------------------------------------------------------------------------

    def _p(self, template: str, *ids: str) -> str:
        return self.dialect.path("RestoreSessions/{}/" + template, self.session_id, *ids)

    def _mailboxes(self, tail: str = "", *ids: str) -> str:
        return self._p("organization/mailboxes" + tail, *ids)

    def _drives(self, tail: str = "", *ids: str) -> str:
        return self._p("Organization/OneDrives" + tail, *ids)

    def _sites(self, tail: str = "", *ids: str) -> str:
        return self._p("Organization/Sites" + tail, *ids)

    def _teams(self, tail: str = "", *ids: str) -> str:
        return self._p("organization/teams" + tail, *ids)

    def _team_file_path(self, team: str, channel: str, file_id: str, tail: str = "") -> str:
        if self.dialect.version >= 8:
            return self._teams("/{}/channels/{}/files/{}" + tail, team, channel, file_id)
        return self._teams("/{}/files/{}" + tail, team, file_id)

    # -- parsers: one per kind of payload ------------------------------------------------------------------------

    def _mailbox(self, raw: Mapping[str, Any]) -> BrowseEntryDTO:
        return BrowseEntryDTO(NodeRef("mbx", (_id(raw),)), _name(raw, "name", "email"), True,
                              details=details_from(raw))

    def _mail_folder(self, mailbox: str) -> Parser:
        return lambda raw: BrowseEntryDTO(NodeRef("mfld", (mailbox, _id(raw))), _name(raw, "name"), True,
                                          details=details_from(raw))

    def _mail_item(self, mailbox: str | None) -> Parser:
        def parse(raw: Mapping[str, Any]) -> BrowseEntryDTO:
            owner = mailbox or str(raw.get("mailboxId") or "")
            if not owner:
                raise errors.UpstreamBadResponse("The VB365 server sent a search result without its mailbox.")
            name = _name(raw, "subject", "fullName", "name", "displayName", default="(no subject)")
            modified = raw.get("received") or raw.get("sent") or raw.get("postedOn") or raw.get("startTime")
            details = details_from(raw)
            size = sum(int(each.get("sizeBytes") or 0) for each in raw.get("attachments") or []
                       if isinstance(each, Mapping)) or None
            return BrowseEntryDTO(NodeRef("mitm", (owner, _id(raw))), name, False, size_bytes=None,
                                  modified=_text(modified), details={**details, "attachments_size_bytes": size})
        return parse

    def _drive(self, raw: Mapping[str, Any]) -> BrowseEntryDTO:
        return BrowseEntryDTO(NodeRef("drv", (_id(raw),)), _name(raw, "name"), True, details=details_from(raw))

    def _document(self, kind: str, folder_kind: str, owner: str) -> Parser:
        """OneDrive (`ddoc`/`dfld`) and SharePoint (`sdoc`/`sfld`) documents and folders."""
        def parse(raw: Mapping[str, Any]) -> BrowseEntryDTO:
            details = details_from(raw)
            if raw.get("isFolder") is True or (raw.get("type") in ("LibraryFolder", "ListFolder")):
                ids = (owner, _id(raw)) if folder_kind == "dfld" else (owner, _id(raw), _folder_side(raw))
                return BrowseEntryDTO(NodeRef(folder_kind, ids), _name(raw, "name"), True,
                                      modified=_text(raw.get("modificationTime")), details=details)
            if "title" in raw and kind == "sdoc":
                return self._site_item(owner)(raw)
            return BrowseEntryDTO(NodeRef(kind, (owner, _id(raw))), _name(raw, "name"),
                                  major_version(raw.get("version")) > 1, size_bytes=size_of(raw),
                                  modified=_text(raw.get("modificationTime")), details=details)
        return parse

    def _folder_only(self, folder_kind: str, owner: str, side: str = "") -> Parser:
        def parse(raw: Mapping[str, Any]) -> BrowseEntryDTO:
            ids = (owner, _id(raw)) if folder_kind == "dfld" else (owner, _id(raw), side or _folder_side(raw))
            return BrowseEntryDTO(NodeRef(folder_kind, ids), _name(raw, "name"), True,
                                  modified=_text(raw.get("modificationTime")), details=details_from(raw))
        return parse

    def _version(self, kind: str, *owner: str) -> Parser:
        def parse(raw: Mapping[str, Any]) -> BrowseEntryDTO:
            version_id = str(raw.get("versionId") or raw.get("id") or raw.get("version") or "")
            if not version_id:
                raise errors.UpstreamBadResponse("The VB365 server sent a version without `versionId`.")
            label = raw.get("uiVersion") or raw.get("version") or version_id
            return BrowseEntryDTO(NodeRef(kind, (*owner, version_id)), f"Version {label}", False,
                                  size_bytes=size_of(raw),
                                  modified=_text(raw.get("modificationTime") or raw.get("modified")),
                                  details=details_from(raw))
        return parse

    def _site(self, raw: Mapping[str, Any]) -> BrowseEntryDTO:
        return BrowseEntryDTO(NodeRef("site", (_id(raw),)), _name(raw, "name", "url"), True,
                              details=details_from(raw))

    def _library(self, kind: str, site: str) -> Parser:
        return lambda raw: BrowseEntryDTO(NodeRef(kind, (site, _id(raw))), _name(raw, "name"), True,
                                          modified=_text(raw.get("creationTime")), details=details_from(raw))

    def _site_item(self, site: str) -> Parser:
        def parse(raw: Mapping[str, Any]) -> BrowseEntryDTO:
            if raw.get("isFolder") is True:
                return self._folder_only("sfld", site, "i")(raw)
            return BrowseEntryDTO(NodeRef("sitm", (site, _id(raw))), _name(raw, "title", "name"), True,
                                  modified=_text(raw.get("modificationTime")), details=details_from(raw))
        return parse

    def _attachment(self, site: str, item: str) -> Parser:
        return lambda raw: BrowseEntryDTO(NodeRef("satt", (site, item, _id(raw))), _name(raw, "name"), False,
                                          size_bytes=size_of(raw), details=details_from(raw))

    def _team(self, raw: Mapping[str, Any]) -> BrowseEntryDTO:
        return BrowseEntryDTO(NodeRef("team", (_id(raw),)), _name(raw, "displayName", "alias"), True,
                              details=details_from(raw, skip=("settings",)))

    def _channel(self, team: str) -> Parser:
        return lambda raw: BrowseEntryDTO(NodeRef("chan", (team, _id(raw))), _name(raw, "displayName"), True,
                                          details=details_from(raw))

    def _post(self, team: str, channel: str | None) -> Parser:
        def parse(raw: Mapping[str, Any]) -> BrowseEntryDTO:
            post_id = raw.get(self.dialect.post_id_key, raw.get("postId", raw.get("id")))
            if post_id in (None, ""):
                raise errors.UpstreamBadResponse("The VB365 server sent a Teams post without its id.")
            where = channel or str(raw.get("channelId") or "")
            if not where:
                raise errors.UpstreamBadResponse("The VB365 server sent a Teams post without its channel.")
            links = raw["_links"] if isinstance(raw.get("_links"), Mapping) else {}
            subject = raw.get("subject") or f"Post by {raw.get('author') or 'someone'}"
            return BrowseEntryDTO(NodeRef("post", (team, where, str(post_id))), str(subject),
                                  bool(links.get("children")),
                                  modified=_text(raw.get("lastModifiedTime") or raw.get("createdTime")),
                                  details=details_from(raw))
        return parse

    def _team_file_entry(self, team: str, channel: str | None) -> Parser:
        def parse(raw: Mapping[str, Any]) -> BrowseEntryDTO:
            where = channel or str(raw.get("channelId") or "")
            if not where:
                raise errors.UpstreamBadResponse("The VB365 server sent a Teams file without its channel.")
            if str(raw.get("fileType", "")).lower() == "folder":
                return BrowseEntryDTO(NodeRef("tfld", (team, where, _id(raw))), _name(raw, "name"), True,
                                      modified=_text(raw.get("modified")), details=details_from(raw))
            versions = self.dialect.has_team_file_versions and major_version(raw.get("version")) > 1
            return BrowseEntryDTO(NodeRef("tfile", (team, where, _id(raw))), _name(raw, "name"), versions,
                                  size_bytes=size_of(raw), modified=_text(raw.get("modified")),
                                  details=details_from(raw))
        return parse

    def _tab(self, team: str, channel: str) -> Parser:
        return lambda raw: BrowseEntryDTO(NodeRef("tab", (team, channel, _id(raw))), _name(raw, "displayName"),
                                          False, details=details_from(raw))

    # -- what lists a node's children -------------------------------------------------------------------------

    def children_sources(self, ref: NodeRef) -> list[Source]:
        top = self.dialect.top_word
        ids = ref.ids
        kind = ref.kind
        if kind == "top":
            return [{
                "exchange": Source(self._mailboxes(), self._mailbox),
                "onedrive": Source(self._drives(), self._drive),
                "sharepoint": Source(self._sites(), self._site, {"parentId": top}),
                "teams": Source(self._teams(), self._team),
            }[self.workload]]
        if kind == "mbx":
            return [Source(self._mailboxes("/{}/folders", ids[0]), self._mail_folder(ids[0]), {"parentId": top})]
        if kind == "mfld":
            mailbox, folder = ids
            return [Source(self._mailboxes("/{}/folders", mailbox), self._mail_folder(mailbox), {"parentId": folder}),
                    Source(self._mailboxes("/{}/items", mailbox), self._mail_item(mailbox),
                           {self.dialect.mail_item_filter: folder})]
        if kind in ("drv", "dfld"):
            drive = ids[0]
            parent = top if kind == "drv" else ids[1]
            return [Source(self._drives("/{}/Folders", drive), self._folder_only("dfld", drive), {"parentId": parent}),
                    Source(self._drives("/{}/Documents", drive), self._document("ddoc", "dfld", drive),
                           {"parentId": parent})]
        if kind == "ddoc":
            return [Source(self._drives("/{}/Documents/{}/Versions", *ids), self._version("dver", *ids))]
        if kind == "site":
            site = ids[0]
            return [Source(self._sites(), self._site, {"parentId": site}),
                    Source(self._sites("/{}/Libraries", site), self._library("slib", site)),
                    Source(self._sites("/{}/Lists", site), self._library("slst", site))]
        if kind in ("slib", "slst", "sfld"):
            site, parent = ids[0], ids[1]
            side = "d" if kind == "slib" else "i" if kind == "slst" else ids[2]
            if side == "d":
                leaves = Source(self._sites("/{}/Documents", site), self._document("sdoc", "sfld", site),
                                {"parentId": parent})
            else:
                leaves = Source(self._sites("/{}/Items", site), self._site_item(site), {"parentId": parent})
            return [Source(self._sites("/{}/Folders", site), self._folder_only("sfld", site, side),
                           {"parentId": parent}), leaves]
        if kind == "sdoc":
            return [Source(self._sites("/{}/Documents/{}/Versions", *ids), self._version("sdver", *ids))]
        if kind == "sitm":
            return [Source(self._sites("/{}/Items/{}/Attachments", *ids), self._attachment(*ids)),
                    Source(self._sites("/{}/Items/{}/Versions", *ids), self._version("siver", *ids))]
        if kind == "team":
            return [Source(self._teams("/{}/channels", ids[0]), self._channel(ids[0]))]
        if kind == "cposts":
            team, channel = ids
            return [Source(self._teams("/{}/posts", team), self._post(team, channel),
                           {"channelId": channel, "parentId": -1})]
        if kind == "post":
            team, channel, post = ids
            return [Source(self._teams("/{}/posts", team), self._post(team, channel),
                           {"channelId": channel, "parentId": post})]
        if kind in ("cfiles", "tfld"):
            team, channel = ids[0], ids[1]
            parent = top if kind == "cfiles" else ids[2]
            return [Source(self._teams("/{}/files", team), self._team_file_entry(team, channel),
                           {"channelId": channel, "parentId": parent})]
        if kind == "tfile":
            if not self.dialect.has_team_file_versions:
                return []
            team, channel, file_id = ids
            return [Source(self._team_file_path(team, channel, file_id, tail="/versions"),
                           self._version("tver", *ids))]
        if kind == "ctabs":
            team, channel = ids
            return [Source(self._teams("/{}/channels/{}/tabs", team, channel), self._tab(team, channel))]
        return []

    def channel_sections(self, ref: NodeRef) -> list[BrowseEntryDTO]:
        """A channel's children: its posts, files and tabs, as three folders (no upstream call)."""
        return [BrowseEntryDTO(NodeRef(kind, ref.ids), name, True, details={"section": name.lower()})
                for kind, name in (("cposts", "Posts"), ("cfiles", "Files"), ("ctabs", "Tabs"))]

    def search_sources(self, ref: NodeRef, query: str) -> list[Source]:
        if not self.dialect.can_search:
            raise BrowseUnsupported(SEARCH_NEEDS.format(version=self.dialect.version))
        ids = ref.ids
        body = {"query": query}
        kind = ref.kind
        if kind == "mbx":
            return [Source(self._mailboxes("/{}/search", ids[0]), self._mail_item(ids[0]), body=body)]
        if kind == "mfld":
            return [Source(self._mailboxes("/{}/folders/{}/search", *ids), self._mail_item(ids[0]), body=body)]
        documents = {"itemType": "Documents"}
        if kind == "drv":
            return [Source(self._drives("/{}/search", ids[0]), self._document("ddoc", "dfld", ids[0]),
                           documents, body)]
        if kind == "dfld":
            return [Source(self._drives("/{}/Folders/{}/search", *ids), self._document("ddoc", "dfld", ids[0]),
                           documents, body)]
        if kind in ("site", "slib", "slst", "sfld"):
            site = ids[0]
            template, path_ids = {"site": ("/{}/search", ids[:1]), "slib": ("/{}/Libraries/{}/search", ids),
                                  "slst": ("/{}/Lists/{}/search", ids),
                                  "sfld": ("/{}/Folders/{}/search", ids[:2])}[kind]
            return [Source(self._sites(template, *path_ids), self._document("sdoc", "sfld", site),
                           {"itemType": "All" if kind == "slst" else "Documents"}, body)]
        if kind in ("team", "chan", "cposts", "cfiles"):
            team = ids[0]
            channel = ids[1] if len(ids) > 1 else None
            in_channel = {"channelId": channel} if channel and self.dialect.version >= 7 else {}
            posts = Source(self._teams("/{}/posts/search", team), self._post(team, channel), in_channel, body)
            files = Source(self._teams("/{}/files/search", team), self._team_file_entry(team, channel), in_channel,
                           body)
            if channel and self.dialect.version < 7:
                # Before v7 the per-kind searches cover the whole team: search the channel with a type.
                channel_search = self._teams("/{}/channels/{}/search", team, channel)
                posts = Source(channel_search, self._post(team, channel), None, {"type": "Posts", "query": query})
                files = Source(channel_search, self._team_file_entry(team, channel), None,
                               {"type": "Files", "query": query})
            return {"cposts": [posts], "cfiles": [files]}.get(kind, [posts, files])
        raise BrowseUnsupported(SEARCH_NOT_HERE)

    def node_source(self, ref: NodeRef) -> tuple[str, Parser, Mapping[str, Any] | None]:
        """The path that reads one node again, with its parser."""
        ids = ref.ids
        kind = ref.kind
        table: dict[str, tuple[str, Parser, Mapping[str, Any] | None]] = {}
        if kind == "mbx":
            table[kind] = (self._mailboxes("/{}", *ids), self._mailbox, None)
        elif kind == "mfld":
            table[kind] = (self._mailboxes("/{}/folders/{}", *ids), self._mail_folder(ids[0]), None)
        elif kind == "mitm":
            table[kind] = (self._mailboxes("/{}/items/{}", *ids), self._mail_item(ids[0]), None)
        elif kind == "drv":
            table[kind] = (self._drives("/{}", *ids), self._drive, None)
        elif kind == "dfld":
            table[kind] = (self._drives("/{}/Folders/{}", *ids), self._folder_only("dfld", ids[0]), None)
        elif kind == "ddoc":
            table[kind] = (self._drives("/{}/Documents/{}", *ids), self._document("ddoc", "dfld", ids[0]), None)
        elif kind == "dver":
            table[kind] = (self._drives("/{}/Documents/{}/Versions/{}", *ids), self._version("dver", *ids[:2]), None)
        elif kind == "site":
            table[kind] = (self._sites("/{}", *ids), self._site, None)
        elif kind in ("slib", "slst"):
            segment = "Libraries" if kind == "slib" else "Lists"
            table[kind] = (self._sites(f"/{{}}/{segment}/{{}}", *ids), self._library(kind, ids[0]), None)
        elif kind == "sfld":
            table[kind] = (self._sites("/{}/Folders/{}", *ids[:2]), self._folder_only("sfld", ids[0], ids[2]), None)
        elif kind == "sdoc":
            table[kind] = (self._sites("/{}/Documents/{}", *ids), self._document("sdoc", "sfld", ids[0]), None)
        elif kind == "sdver":
            table[kind] = (self._sites("/{}/Documents/{}/Versions/{}", *ids), self._version("sdver", *ids[:2]), None)
        elif kind == "sitm":
            table[kind] = (self._sites("/{}/Items/{}", *ids), self._site_item(ids[0]), None)
        elif kind == "siver":
            table[kind] = (self._sites("/{}/Items/{}/Versions/{}", *ids), self._version("siver", *ids[:2]), None)
        elif kind == "satt":
            table[kind] = (self._sites("/{}/Items/{}/Attachments/{}", *ids), self._attachment(*ids[:2]), None)
        elif kind == "team":
            table[kind] = (self._teams("/{}", *ids), self._team, None)
        elif kind == "chan":
            table[kind] = (self._teams("/{}/channels/{}", *ids), self._channel(ids[0]), None)
        elif kind == "post":
            table[kind] = (self._teams("/{}/posts/{}", ids[0], ids[2]), self._post(ids[0], ids[1]),
                           {"channelId": ids[1]})
        elif kind in ("tfld", "tfile"):
            params = None if self.dialect.version >= 8 else {"channelId": ids[1]}
            table[kind] = (self._team_file_path(*ids), self._team_file_entry(ids[0], ids[1]), params)
        elif kind == "tab":
            table[kind] = (self._teams("/{}/channels/{}/tabs/{}", *ids), self._tab(ids[0], ids[1]), None)
        if kind not in table:
            raise BrowseUnsupported("This entry has no details of its own.")
        return table[kind]

    # -- reading ---------------------------------------------------------------------------------------------

    def children(self, ref: NodeRef, *, offset: int, limit: int, phase_sizes: tuple[int, ...] = ()) -> BrowsePageDTO:
        if ref.kind == "chan":
            sections = self.channel_sections(ref)
            return BrowsePageDTO(sections[offset:offset + limit], offset,
                                 offset + limit if offset + limit < len(sections) else None)
        return self._read(self.children_sources(ref), offset=offset, limit=limit, phase_sizes=phase_sizes)

    def search(self, ref: NodeRef, query: str, *, offset: int, limit: int, phase_sizes: tuple[int, ...] = (),
               set_ids: tuple[str, ...] = ()) -> BrowsePageDTO:
        return self._read(self.search_sources(ref, query), offset=offset, limit=limit, phase_sizes=phase_sizes,
                          set_ids=set_ids)

    def node(self, ref: NodeRef) -> BrowseEntryDTO:
        if ref.kind in ("cposts", "cfiles", "ctabs"):
            return next(each for each in self.channel_sections(ref) if each.ref.kind == ref.kind)
        path, parser, params = self.node_source(ref)
        payload = self.client._request("GET", path, params=dict(params) if params else None)
        if not isinstance(payload, Mapping):
            raise errors.UpstreamBadResponse("The VB365 server sent an entry that is not a JSON object.")
        return parser(payload)

    def _read(self, sources: list[Source], *, offset: int, limit: int, phase_sizes: tuple[int, ...],
              set_ids: tuple[str, ...] = ()) -> BrowsePageDTO:
        """`limit` entries from `offset` of the sources read one after the other."""
        sizes = list(phase_sizes)
        sets = list(set_ids) + [""] * (len(sources) - len(set_ids))
        entries: list[BrowseEntryDTO] = []
        position = offset
        start = 0  # where the current source starts in the whole sequence
        exhausted = True
        for index, source in enumerate(sources):
            if index < len(sizes) and position >= start + sizes[index]:
                start += sizes[index]
                continue
            more = True
            while len(entries) < limit:
                local = position - start
                items, more, set_id = self._fetch(source, offset=local, limit=limit - len(entries),
                                                  set_id=sets[index])
                sets[index] = set_id
                entries.extend(items)
                position += len(items)
                if not more or not items:
                    more = False
                    if index >= len(sizes):
                        sizes.append(position - start)
                    break
            if len(entries) >= limit:
                exhausted = not more and index == len(sources) - 1
                break
            start += sizes[index]
        next_offset = None if exhausted else position
        return BrowsePageDTO(entries, offset, next_offset, tuple(sizes), tuple(sets))

    def _fetch(self, source: Source, *, offset: int, limit: int,
               set_id: str) -> tuple[list[BrowseEntryDTO], bool, str]:
        params: dict[str, Any] = {**(source.params or {}), "offset": offset, "limit": limit}
        if source.body is not None:
            if set_id:
                params["setId"] = set_id
            payload = self.client._request("POST", source.path, params=params, json=dict(source.body))
        else:
            payload = self.client._request("GET", source.path, params=params)
        if isinstance(payload, list):
            # An answer without paging is the whole collection.
            raw_items, more = payload[offset:offset + limit], offset + limit < len(payload)
        elif isinstance(payload, Mapping) and isinstance(payload.get("results"), list):
            raw_items = payload["results"]
            links = payload["_links"] if isinstance(payload.get("_links"), Mapping) else {}
            more = bool(links.get("next")) and bool(raw_items)
            set_id = str(payload.get("setId") or _query_value(links.get("next"), "setId") or set_id)
        else:
            raise errors.UpstreamBadResponse("The VB365 server sent a listing that is neither an array nor a page.")
        return [source.parser(raw) for raw in raw_items if isinstance(raw, Mapping)], more, set_id


def _query_value(link: Any, key: str) -> str:
    href = link.get("href") if isinstance(link, Mapping) else None
    if not isinstance(href, str):
        return ""
    values = parse_qs(urlsplit(href).query).get(key)
    return values[0] if values else ""


def _id(raw: Mapping[str, Any]) -> str:
    value = raw.get("id")
    if value in (None, ""):
        raise errors.UpstreamBadResponse("The VB365 server sent a browse entry without `id`.")
    return str(value)


def _name(raw: Mapping[str, Any], *keys: str, default: str = "(no name)") -> str:
    for key in keys:
        value = raw.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return default


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _folder_side(raw: Mapping[str, Any]) -> str:
    """SharePoint folders hold documents (a library's) or items (a list's)."""
    return "i" if raw.get("type") == "ListFolder" else "d"
