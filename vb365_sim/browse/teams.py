"""Teams browse routes and shapes (session type ``Vet``, from v5).

# Reference: BROWSE-RESTORE.md §1.5 and vb365_rest_v6/v7/v8.json (TeamsTeam_*, TeamsChannel_*, TeamsPost_*,
# TeamsFile_*, TeamsTab_*): teams and channels (``displayName`` contains, with ``*``/``?``), channel children
# (v7+), posts (``channelId``; ``parentId`` a post id → its replies, ``-1`` → thread starters, absent → all,
# slow), files (``channelId``, ``parentId`` a folder / ``root`` / absent; ``foldersOnly`` v7+), tabs, searches.
# A file by id is ``teams/{teamId}/files/{fileId}`` up to v7 and ``teams/{teamId}/channels/{channelId}/files/
# {fileId}`` in v8; its versions exist from v7. Posts carry ``postId`` from v6 (the v5 portal read ``id``),
# ``changeKey``/``isDeleted``/``channelId``/``parentId``/``parentChangeKey`` from v7, ``teamId`` in v8.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from vb365_sim.browse import common
from vb365_sim.browse.documents import folders_under, page_entries, previous_versions, someone, visible_doc
from vb365_sim.contents import SessionView
from vb365_sim.contents.search import matcher
from vb365_sim.contents.teams import Channel, Post, Tab, Team, Teams
from vb365_sim.contents.words import rnd
from vb365_sim.state import bad_request, iso_z, not_found

if TYPE_CHECKING:
    from vb365_sim.app import Call, SimulatorApp

TEAMS = "organization/teams"
TEAM = TEAMS + "/{teamId}"
CHANNEL = TEAM + "/channels/{channelId}"
SEARCH_TYPES = ("Tabs", "Files", "Posts")


# --- shapes -----------------------------------------------------------------------------------------------


def team_json(call: Call, tm: Teams, team: Team) -> dict[str, Any]:
    out: dict[str, Any] = {"id": team.id, "displayName": team.display_name, "description": team.description,
                           "groupEmail": team.group_email, "alias": team.alias, "privacy": team.privacy}
    if call.version >= 7:
        b = rnd(tm.salt, 9, team.index)
        out["settings"] = {
            "preferredDataLocation": "EUR" if b[0] % 2 else "NAM", "allowExternalSenders": False,
            "autoSubscribeNewMembers": False,
            "funSettings": {"allowCustomMemes": True, "allowGiphy": b[1] % 3 > 0, "allowStickersAndMemes": True,
                            "giphyContentRating": "Moderate"},
            "guestSettings": {"allowCreateUpdateChannels": False, "allowDeleteChannels": False},
            "memberSettings": {"allowCreatePrivateChannel": True, "allowCreateUpdateChannel": True,
                               "allowDeleteChannel": b[2] % 2 == 0, "allowAddRemoveApp": True,
                               "allowCreateUpdateRemoveTab": True, "allowCreateUpdateRemoveConnector": True},
            "messagingSettings": {"allowUserEditMessage": True, "allowUserDeleteMessage": True,
                                  "allowOwnerDeleteMessage": True, "allowTeamMention": True,
                                  "allowChannelMention": True},
        }
    out["isArchived"] = team.is_archived
    ids = {"teamId": team.id}
    out["_links"] = {"self": common.link(call, TEAM, **ids), "channels": common.link(call, TEAM + "/channels", **ids),
                     "posts": common.link(call, TEAM + "/posts", **ids),
                     "files": common.link(call, TEAM + "/files", **ids)}
    return out


def channel_json(call: Call, team: Team, ch: Channel, *, preview: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"id": ch.id, "displayName": ch.display_name}
    if call.version >= 8:
        out["teamId"] = team.id
        if preview:
            out["type"] = ch.type
    ids = {"teamId": team.id, "channelId": ch.id}
    links = {"self": common.link(call, CHANNEL, **ids),
             "posts": common.href(call, common.path(call, TEAM + "/posts", **ids) + f"?channelId={ch.id}"),
             "files": common.href(call, common.path(call, TEAM + "/files", **ids) + f"?channelId={ch.id}"),
             "tabs": common.link(call, CHANNEL + "/tabs", **ids)}
    if call.version >= 7:
        links["children"] = common.link(call, CHANNEL + "/children", **ids)
    out["_links"] = links
    return out


def post_json(call: Call, team: Team, post: Post) -> dict[str, Any]:
    ch = post.channel
    out: dict[str, Any] = {"id" if call.version <= 5 else "postId": post.post_id}
    if call.version >= 7:
        out["changeKey"] = str(post.modified_us // 1000)
    out["isImportant"] = post.is_important
    out["author"] = post.author
    if post.subject is not None:
        out["subject"] = post.subject
    out.update(createdTime=iso_z(post.created_us), lastModifiedTime=iso_z(post.modified_us))
    if call.version >= 7:
        out.update(isDeleted=post.deleted, channelId=ch.id)
        if call.version >= 8:
            out["teamId"] = team.id
        out["parentId"] = post.parent_id  # nullable: null on a thread starter
        if post.parent_id is not None:
            out["parentChangeKey"] = str(post.parent_id)
    out["attachments"] = [{"name": name, "longFileName": name, "url": url} for name, url in post.attachments]
    ids = {"teamId": team.id, "postId": str(post.post_id)}
    links = {"self": common.href(call, common.path(call, TEAM + "/posts/{postId}", **ids) + f"?channelId={ch.id}")}
    if post.replies:
        links["children"] = common.href(call, common.path(call, TEAM + "/posts", **ids)
                                        + f"?channelId={ch.id}&parentId={post.post_id}")
    if post.parent_id is not None:
        parent_path = common.path(call, TEAM + "/posts/{p}", teamId=team.id, p=str(post.parent_id))
        links["parent"] = common.href(call, parent_path + f"?channelId={ch.id}")
    out["_links"] = links
    return out


def file_json(call: Call, tm: Teams, view: SessionView, team: Team, ch: Channel, k: int, slot: int | None,
              n: int | None = None) -> dict[str, Any]:
    tree = ch.files
    fid = tm.file_id(ch, k, slot)
    out: dict[str, Any] = {"id": fid}
    if slot is None:
        f = tree.folder(k)
        out.update(name=f.name, version=1)
        if call.version >= 7:
            out["uiVersion"] = common.version_label(1)
        out.update(modified=iso_z(f.created_us), modifiedBy=someone(k % 256))
    else:
        assert view.t is not None
        doc = tree.doc(k, slot, view.t, tree.window(k, view.t, view.show_deleted))
        n = doc.version if n is None else n
        out.update(name=doc.name, sizeBytes=tree.version_size(doc, n), version=n)
        if call.version >= 7:
            out["uiVersion"] = common.version_label(n)
        out.update(modified=iso_z(tree.version_time(doc, n)), modifiedBy=someone(doc.editor if n > 1 else doc.author))
    if call.version >= 7:
        out["channelId"] = ch.id
    if call.version >= 8:
        out["teamId"] = team.id
    out["fileType"] = "Folder" if slot is None else "File"
    if call.version >= 8:
        self_path = common.path(call, CHANNEL + "/files/{fileId}", teamId=team.id, channelId=ch.id, fileId=fid)
    else:
        self_path = common.path(call, TEAM + "/files/{fileId}", teamId=team.id, fileId=fid) + f"?channelId={ch.id}"
    out["_links"] = {"self": common.href(call, self_path)}
    return out


def tab_json(call: Call, team: Team, tab: Tab) -> dict[str, Any]:
    out: dict[str, Any] = {"id": tab.id, "displayName": tab.display_name, "contentUrl": tab.content_url,
                           "type": tab.type}
    if call.version >= 7:
        out["channelId"] = tab.channel.id
    if call.version >= 8:
        out["teamId"] = team.id
    out["_links"] = {"self": common.link(call, CHANNEL + "/tabs/{tabId}", teamId=team.id, channelId=tab.channel.id,
                                         tabId=tab.id)}
    return out


# --- lookups --------------------------------------------------------------------------------------------


def _team(view: SessionView, call: Call) -> Team:
    raw = call.params["teamId"]
    return common.existing(view.org.teams.team_by_id(raw, view.t), "Team", raw)


def _channel(view: SessionView, team: Team, raw: str) -> Channel:
    found = view.org.teams.channel_by_id(team, raw)
    if found is None or view.t is None or found.created_us > view.t:
        raise not_found(f"Channel with ID {raw} was not found.")
    return found


def _channels(view: SessionView, team: Team, call: Call, name: str | None = "channelId") -> list[Channel]:
    """The channel named by the ``name`` query parameter, or every channel (``name`` None: no filter)."""
    raw = common.arg(call, name) if name else None
    if raw:
        return [_channel(view, team, raw)]
    return [c for c in view.org.teams.channels(team.index) if view.t is not None and c.created_us <= view.t]


def _contains(pattern: str | None, name: str) -> bool:
    """``displayName``: "contains the value", with ``*`` and ``?`` wildcards."""
    return not pattern or fnmatch.fnmatchcase(name.lower(), f"*{pattern.lower()}*")


def _post(view: SessionView, team: Team, raw: str) -> Post:
    tm = view.org.teams
    try:
        found = tm.locate_post(team, int(raw))
    except ValueError:
        found = None
    if found is not None:
        ch, slot = found
        window = tm.window(ch, view.t, view.show_deleted)
        if (ch.created_us <= (view.t or 0) and slot < window.created
                and (view.show_deleted or not window.is_deleted(slot))):
            return tm.post(ch, slot, window)
    raise not_found(f"Post with ID {raw} was not found.")


def _file(view: SessionView, team: Team, raw: str, channel: Channel | None) -> tuple[Channel, int, int | None]:
    found = view.org.teams.locate_file(team, raw)
    if found is None or (channel is not None and found[0] is not channel) or \
            not found[0].files.folder_exists(found[1], view.t):
        raise not_found(f"File with ID {raw} was not found.")
    if found[2] is not None:
        visible_doc(found[0].files, view, found[1], found[2], "File", raw)
    return found


# --- teams and channels ---------------------------------------------------------------------------------


def teams(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vet")
    tm = view.org.teams
    offset, limit = common.paging(call)
    pattern = common.arg(call, "displayName")
    chosen = [t for t in map(tm.team, range(tm.team_count(view.t))) if _contains(pattern, t.display_name)]
    results = [team_json(call, tm, t) for t in chosen[offset : offset + limit]]
    return common.list_page(app, call, common.path(call, TEAMS), results, offset=offset, limit=limit, total=len(chosen))


def team(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vet")
    return common.respond(team_json(call, view.org.teams, _team(view, call)))


def channels(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vet")
    found = _team(view, call)
    offset, limit = common.paging(call)
    pattern = common.arg(call, "displayName")
    chosen = [c for c in _channels(view, found, call, None) if _contains(pattern, c.display_name)]
    results = [channel_json(call, found, c, preview=call.version >= 7) for c in chosen[offset : offset + limit]]
    return common.list_page(app, call, common.path(call, TEAM + "/channels", teamId=found.id), results, offset=offset,
                            limit=limit, total=len(chosen))


def channel(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vet")
    found = _team(view, call)
    return common.respond(channel_json(call, found, _channel(view, found, call.params["channelId"]), preview=False))


def children(app: SimulatorApp, call: Call) -> Response:
    """v7+: the Posts, Files and Tabs nodes of a channel (PageOfRESTTeamsNode)."""
    view = common.session_view(app, call, "Vet")
    found = _team(view, call)
    ch = _channel(view, found, call.params["channelId"])
    offset, limit = common.paging(call)
    ids = {"teamId": found.id, "channelId": ch.id}
    targets = {"Posts": common.href(call, common.path(call, TEAM + "/posts", **ids) + f"?channelId={ch.id}"),
               "Files": common.href(call, common.path(call, TEAM + "/files", **ids) + f"?channelId={ch.id}"),
               "Tabs": common.link(call, CHANNEL + "/tabs", **ids)}
    nodes = [{**({"teamId": found.id, "channelId": ch.id} if call.version >= 8 else {}), "displayName": kind,
              "type": kind, "_links": {"self": href}} for kind, href in targets.items()]
    return common.list_page(app, call, common.path(call, CHANNEL + "/children", **ids), nodes[offset : offset + limit],
                            offset=offset, limit=limit, total=len(nodes))


# --- posts ----------------------------------------------------------------------------------------------


def _post_parts(tm: Teams, view: SessionView, chs: list[Channel], starters_only: bool) -> list[tuple[int, Any]]:
    parts: list[tuple[int, Any]] = []
    for ch in chs:
        window = tm.window(ch, view.t, view.show_deleted)
        count, step = tm.starters(ch, window) if starters_only else (len(window), 0)
        if step:
            parts.append((count, lambda off, lim, c=ch, w=window, s=step: [tm.post(c, k * s, w)
                                                                          for k in range(off, off + lim)]))
        else:
            parts.append((count, lambda off, lim, c=ch, w=window: [tm.post(c, s, w) for s in w.slots(off, lim)]))
    return parts


def posts(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vet")
    tm, found = view.org.teams, _team(view, call)
    chs = _channels(view, found, call)
    offset, limit = common.paging(call)
    raw = common.arg(call, "parentId")
    if raw in (None, ""):
        parts = _post_parts(tm, view, chs, starters_only=False)
    elif raw.strip() == "-1":
        parts = _post_parts(tm, view, chs, starters_only=True)
    else:
        try:
            int(raw)
        except ValueError:
            raise bad_request(f"The value '{raw}' is not valid for parentId.") from None
        parent = _post(view, found, raw)
        window = tm.window(parent.channel, view.t, view.show_deleted)
        replies = tm.replies(parent.channel, parent.slot, window) if parent.parent_id is None else []
        parts = [(len(replies), lambda off, lim: [tm.post(parent.channel, s, window) for s in replies[off:off + lim]])]
    page_posts, total = common.concat(parts, offset, limit)
    results = [post_json(call, found, p) for p in page_posts]
    return common.list_page(app, call, common.path(call, TEAM + "/posts", teamId=found.id), results, offset=offset,
                            limit=limit, total=total, scanned=total if raw in (None, "") else 0)


def post(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vet")
    found = _team(view, call)
    return common.respond(post_json(call, found, _post(view, found, call.params["postId"])))


# --- files and tabs -------------------------------------------------------------------------------------


def files(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vet")
    tm, found = view.org.teams, _team(view, call)
    chs = _channels(view, found, call)
    offset, limit = common.paging(call)
    folders_only = call.version >= 7 and common.bool_arg(call, "foldersOnly")
    parent = common.parent_arg(call)
    plan: list[tuple[Channel, list[int], list[int]]]
    if parent == common.ROOT:  # "all root folders of team channels": each channel's own folder
        plan = [(ch, [0], []) for ch in chs]
    elif parent == common.ALL:
        plan = [(ch, [0, *folders_under(ch.files, view, None)], [] if folders_only else list(range(ch.files.folders)))
                for ch in chs]
    else:
        ch, k, slot = _file(view, found, parent, chs[0] if common.arg(call, "channelId") else None)
        if slot is not None:
            raise not_found(f"Folder with ID {parent} was not found.")
        plan = [(ch, folders_under(ch.files, view, k), [] if folders_only else [k])]
    entries, total = page_entries([(ch.files, ks, docs) for ch, ks, docs in plan], view, offset, limit)
    by_tree = {id(ch.files): ch for ch, _, _ in plan}
    results = [file_json(call, tm, view, found, by_tree[id(tree)], k, slot) for tree, k, slot in entries]
    return common.list_page(app, call, common.path(call, TEAM + "/files", teamId=found.id), results, offset=offset,
                            limit=limit, total=total, scanned=total if parent == common.ALL else 0)


def _file_target(view: SessionView, call: Call) -> tuple[Team, Channel, int, int | None]:
    found = _team(view, call)
    scoped = call.params.get("channelId") or common.arg(call, "channelId")
    ch = _channel(view, found, scoped) if scoped else None
    chan, k, slot = _file(view, found, call.params["fileId"], ch)
    return found, chan, k, slot


def file(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vet")
    found, ch, k, slot = _file_target(view, call)
    return common.respond(file_json(call, view.org.teams, view, found, ch, k, slot))


def file_versions(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vet")
    found, ch, k, slot = _file_target(view, call)
    offset, limit = common.paging(call)
    numbers: list[int] = []
    if slot is not None:
        assert view.t is not None
        numbers = previous_versions(view, ch.files.doc(k, slot, view.t))
    results = [file_json(call, view.org.teams, view, found, ch, k, slot, n) for n in numbers[offset : offset + limit]]
    return common.list_page(app, call, call.request.path, results, offset=offset, limit=limit, total=len(numbers))


def tabs(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vet")
    found = _team(view, call)
    ch = _channel(view, found, call.params["channelId"])
    offset, limit = common.paging(call)
    every = view.org.teams.tabs(ch)
    return common.list_page(app, call, common.path(call, CHANNEL + "/tabs", teamId=found.id, channelId=ch.id),
                            [tab_json(call, found,
                                      t) for t in every[offset : offset + limit]], offset=offset, limit=limit,
                            total=len(every))


def tab(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vet")
    found = _team(view, call)
    ch = _channel(view, found, call.params["channelId"])
    one = common.existing(view.org.teams.tab_by_id(ch, call.params["tabId"]), "Tab", call.params["tabId"])
    return common.respond(tab_json(call, found, one))


# --- search ---------------------------------------------------------------------------------------------


def _entities(view: SessionView, team: Team, chs: list[Channel], kind: str, query: str) -> Iterator[Any]:
    tm, match = view.org.teams, matcher(query)
    for ch in chs:
        if kind == "Tabs":
            yield from (("tab", team, t) for t in tm.tabs(ch) if match({"name": t.display_name}))
        elif kind == "Posts":
            window = tm.window(ch, view.t, view.show_deleted)
            for s in window.slots(0, len(window)):
                p = tm.post(ch, s, window)
                if match({"subject": p.subject or "", "author": p.author, "body": tm.body(p)}):
                    yield "post", team, p
        else:
            tree = ch.files
            for k in range(tree.folders):
                if not tree.folder_exists(k, view.t):
                    continue
                assert view.t is not None
                window = tree.window(k, view.t, view.show_deleted)
                for s in window.slots(0, len(window)):
                    if match({"name": tree.doc(k, s, view.t, window).name}):
                        yield "file", team, (ch, k, s)


def _entity_json(call: Call, view: SessionView, entity: tuple[str, Team, Any]) -> dict[str, Any]:
    kind, team, value = entity
    if kind == "tab":
        return tab_json(call, team, value)
    if kind == "post":
        return post_json(call, team, value)
    ch, k, slot = value
    return file_json(call, view.org.teams, view, team, ch, k, slot)


def _search(app: SimulatorApp, call: Call, scope: str) -> Response:
    view = common.session_view(app, call, "Vet")
    options = common.body(call)
    query = str(common.body_field(options, "query") or "")
    if scope in ("organization", "team", "channel"):
        # Reference: RESTTeamsSearchOptions -- ``type`` and ``query`` are both required.
        raw_type = common.body_field(options, "type")
        kind = next((t for t in SEARCH_TYPES if isinstance(raw_type, str) and t.lower() == raw_type.lower()), None)
        if kind is None or common.body_field(options, "query") is None:
            raise bad_request("Search options need a type (Tabs, Files or Posts) and a query.")
    else:
        kind = {"files": "Files", "posts": "Posts", "tabs": "Tabs"}[scope]
    tm = view.org.teams
    offset, limit = common.paging(call)
    if scope == "organization":
        plan = [(t, _channels(view, t, call, None)) for t in map(tm.team, range(tm.team_count(view.t)))]
        page_path = common.path(call, "organization/searchTeams")
    else:
        found = _team(view, call)
        if "channelId" in call.params:
            chs = [_channel(view, found, call.params["channelId"])]
        else:
            chs = _channels(view, found, call) if call.version >= 7 else _channels(view, found, call, None)
        plan = [(found, chs)]
        page_path = call.request.path
    key = (view.session_id, page_path.split("/", 2)[2].lower(), query, kind, tuple(c.id for _, cs in plan for c in cs))
    return common.search_page(app, call, page_path, key,
                              lambda: (e for t, cs in plan for e in _entities(view, t, cs, kind, query)),
                              lambda hit: _entity_json(call, view, hit), offset=offset, limit=limit)


ROUTES: list[common.BrowseRoute] = [
    *common.routes("GET", TEAMS, teams, first=5),
    *common.routes("GET", TEAM, team, first=5),
    *common.routes("GET", TEAM + "/channels", channels, first=5),
    *common.routes("GET", CHANNEL, channel, first=5),
    *common.routes("GET", CHANNEL + "/children", children, first=7),
    *common.routes("GET", TEAM + "/posts", posts, first=5),
    *common.routes("GET", TEAM + "/posts/{postId}", post, first=5),
    *common.routes("GET", TEAM + "/files", files, first=5),
    *common.routes("GET", TEAM + "/files/{fileId}", file, first=5, last=7),
    *common.routes("GET", TEAM + "/files/{fileId}/versions", file_versions, first=7, last=7),
    *common.routes("GET", CHANNEL + "/files/{fileId}", file, first=8),
    *common.routes("GET", CHANNEL + "/files/{fileId}/versions", file_versions, first=8),
    *common.routes("GET", CHANNEL + "/tabs", tabs, first=5),
    *common.routes("GET", CHANNEL + "/tabs/{tabId}", tab, first=5),
    *common.routes("POST", "organization/searchTeams", common.scoped(_search, "organization"), first=6),
    *common.routes("POST", TEAM + "/search", common.scoped(_search, "team"), first=6),
    *common.routes("POST", CHANNEL + "/search", common.scoped(_search, "channel"), first=6),
    *common.routes("POST", TEAM + "/files/search", common.scoped(_search, "files"), first=6),
    *common.routes("POST", TEAM + "/posts/search", common.scoped(_search, "posts"), first=6),
    *common.routes("POST", CHANNEL + "/tabs/search", common.scoped(_search, "tabs"), first=6),
]
