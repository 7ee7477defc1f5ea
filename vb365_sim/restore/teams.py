"""Teams restores and downloads (session type ``Vet``): posts and files.

# Reference: BROWSE-RESTORE.md §2.6 -- ``posts/restore`` ``{channelId*, from?, to?}`` (a channel by date
# range: admins send no post list); ``files/restore`` ``{channelId | files[], restoreChangedItems*,
# restoreMissingItems*, fileVersion*}``; one file: v6/v7 ``files/{fileId}/restore``, v8
# ``channels/{channelId}/files/{fileId}/restore``; ``posts/export`` → HTML; ``files/save`` → ZIP;
# v5 ``…/Action`` (§2.8: ``restore``, ``save``, ``export``).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from vb365_sim.browse.teams import _channel, _channels, _file, _post, _team
from vb365_sim.contents import SessionView
from vb365_sim.contents.teams import Channel, Team
from vb365_sim.contents.timeline import Window
from vb365_sim.restore import common, containers, documents
from vb365_sim.restore.desk import Entry, Selection
from vb365_sim.state import bad_request, iso_z, parse_datetime

if TYPE_CHECKING:
    from vb365_sim.app import Call, SimulatorApp

TEAM = "organization/teams/{teamId}"
POST_SIZE = 2048


def _post_entry(ch: Channel, slot: int) -> Entry:
    created = ch.posts.created(slot)
    return Entry(str(created // 1000), f"{ch.display_name} post {slot + 1}", "TeamsPost", POST_SIZE, ch.display_name)


class _Created:
    """Creation times of a channel's visible posts as a lazy sorted sequence (for ``bisect``)."""

    def __init__(self, ch: Channel, window: Window) -> None:
        self.ch, self.window = ch, window

    def __len__(self) -> int:
        return len(self.window)

    def __getitem__(self, k: int) -> int:
        return self.ch.posts.created(self.window.slot(k))


def _date(data: common.Data, name: str) -> int | None:
    raw = common.field(data, name)
    if raw is None:
        return None
    try:
        return parse_datetime(raw)
    except ValueError:
        raise bad_request(f"The value '{raw}' is not valid for {name}.") from None


def _channel_posts(view: SessionView, ch: Channel, data: common.Data) -> Selection:
    """The posts of ``ch`` created between ``from`` and ``to`` (both optional), oldest first.

    # Inferred: both bounds are inclusive and compare with the post's creation time.
    """
    window = view.org.teams.window(ch, view.t, view.show_deleted)
    created = _Created(ch, window)
    start, stop = _date(data, "from"), _date(data, "to")
    lo = 0 if start is None else bisect.bisect_left(created, start)
    hi = len(window) if stop is None else bisect.bisect_right(created, stop)
    return Selection(max(0, hi - lo), lambda i: _post_entry(ch, window.slot(lo + i)))


def _posts(app: SimulatorApp, call: Call, data: common.Data, scope: str) -> tuple[SessionView, Team, Selection]:
    view = common.view_of(app, call, "Vet")
    team = _team(view, call)
    if scope == "post":
        found = _post(view, team, call.params["postId"])
        return view, team, Selection.of([_post_entry(found.channel, found.slot)])
    channel_id = common.field(data, "channelId")
    if scope == "posts" and common.field(data, "posts") is not None:
        picks = [_post(view, team, raw) for raw in common.ids_of(data, "posts")]
        return view, team, Selection.of([_post_entry(p.channel, p.slot) for p in picks])
    if not channel_id:
        raise bad_request("channelId is required." if scope == "channel" else "Specify posts or a channelId.")
    return view, team, _channel_posts(view, _channel(view, team, str(channel_id)), data)


def _files(app: SimulatorApp, call: Call, data: common.Data, scope: str) -> tuple[SessionView, Team, Selection]:
    view = common.view_of(app, call, "Vet")
    tm = view.org.teams
    team = _team(view, call)
    if scope == "file":
        in_channel = _channel(view, team, call.params["channelId"]) if "channelId" in call.params else None
        picks = [_file(view, team, call.params["fileId"], in_channel)]
    elif common.field(data, "files") is not None:
        picks = [_file(view, team, raw, None) for raw in common.ids_of(data, "files")]
    else:
        channel_id = common.field(data, "channelId")
        if not channel_id:
            raise bad_request("Specify files or a channelId.")
        ch = _channel(view, team, str(channel_id))
        return view, team, documents.folders(ch.files, view, [0], lambda k, s: tm.file_id(ch, k, s), "TeamsFile")
    if len({c.id for c, _, _ in picks}) > 1:
        raise bad_request("All files must belong to one channel.")
    ch = picks[0][0]
    docs = [(k, slot) for _, k, slot in picks if slot is not None]
    folders = [k for _, k, slot in picks if slot is None]
    parts = [documents.docs(ch.files, view, docs, lambda k, s: tm.file_id(ch, k, s), "TeamsFile")]
    if folders:
        parts.append(documents.folders(ch.files, view, folders, lambda k, s: tm.file_id(ch, k, s), "TeamsFile"))
    return view, team, Selection.chain(parts)


def _restore(app: SimulatorApp, call: Call, data: common.Data, team: Team, selection: Selection, *,
             target: str | None = None) -> Response:
    """A Teams restore of ``selection`` into ``team``: at ``target``, or the team's original location."""
    return common.restore(app, call, data, selection, kind=common.TEAMS, title=f"Teams restore ({team.display_name})",
                          target=target or f"{team.display_name} (original location)")


def _restore_posts(app: SimulatorApp, call: Call, data: common.Data) -> Response:
    _, team, selection = _posts(app, call, data, "channel")
    return _restore(app, call, data, team, selection)


def _restorer(scope: str) -> common.Action:
    def action(app: SimulatorApp, call: Call, data: common.Data) -> Response:
        """Files; ``restoreChangedItems``, ``restoreMissingItems`` and ``fileVersion`` are required (S8)."""
        if call.version >= 6:
            for name in ("restoreChangedItems", "restoreMissingItems"):
                if not isinstance(common.field(data, name), bool):
                    raise bad_request(f"{name} is required.")
            if str(common.field(data, "fileVersion") or "").lower() not in ("all", "last"):
                raise bad_request("fileVersion is required. Valid values: All, Last.")
        _, team, selection = _files(app, call, data, scope)
        return _restore(app, call, data, team, selection)

    return common.named(action, f"restore_{scope}")


def _tabs(view: SessionView, ch: Channel) -> Selection:
    return Selection.of([Entry(tab.id, tab.display_name, "TeamsTab", 0, ch.display_name)
                         for tab in view.org.teams.tabs(ch)])


def _whole_channel(view: SessionView, ch: Channel) -> Selection:
    """Everything a channel restore puts back: its posts, its files and its tabs."""
    tm = view.org.teams
    return Selection.chain([_channel_posts(view, ch, {}),
                            documents.folders(ch.files, view, [0], lambda k, s: tm.file_id(ch, k, s), "TeamsFile"),
                            _tabs(view, ch)])


def _required_flags(data: common.Data, *names: str) -> None:
    for name in names:
        if not isinstance(common.field(data, name), bool):
            raise bad_request(f"{name} is required.")


def _restore_team(app: SimulatorApp, call: Call, data: common.Data) -> Response:
    """``{teamId}/restore`` (S6-S8 TeamsTeam_RestoreById, RESTRestoreTeamOptions): every channel of the team.

    # Reference: BROWSE-RESTORE.md §2.6 -- restoreChangedItems*, restoreMissingItems*, restoreMembers*,
    # restoreSettings* are required. Inferred: the statistics count the posts, files and tabs restored.
    """
    _required_flags(data, "restoreChangedItems", "restoreMissingItems", "restoreMembers", "restoreSettings")
    view = common.view_of(app, call, "Vet")
    team = _team(view, call)
    selection = Selection.chain([_whole_channel(view, ch) for ch in _channels(view, team, call, name=None)])
    return _restore(app, call, data, team, selection)


def _restore_channel(app: SimulatorApp, call: Call, data: common.Data) -> Response:
    """``{teamId}/channels/{channelId}/restore`` (S6-S8 TeamsChannel_Restore, RESTRestoreChannelOptions)."""
    _required_flags(data, "restoreChangedItems", "restoreMissingItems")
    view = common.view_of(app, call, "Vet")
    team = _team(view, call)
    ch = _channel(view, team, call.params["channelId"])
    return _restore(app, call, data, team, _whole_channel(view, ch), target=f"{team.display_name}/{ch.display_name}")


def _restore_tabs(app: SimulatorApp, call: Call, data: common.Data) -> Response:
    """``{teamId}/channels/{channelId}/tabs/restore`` (S6-S8 TeamsTab_Restore, RESTRestoreTabsOptions):
    ``tabs[]`` of the channel, or all of them when absent."""
    _required_flags(data, "restoreChangedTabs", "restoreMissingTabs")
    view = common.view_of(app, call, "Vet")
    team = _team(view, call)
    ch = _channel(view, team, call.params["channelId"])
    every = _tabs(view, ch)
    wanted = common.ids_of(data, "tabs", required=False)
    if wanted:
        known = {entry.id.lower(): entry for entry in every}
        missing = [raw for raw in wanted if raw.lower() not in known]
        if missing:
            raise bad_request(f"Tab with ID {missing[0]} was not found in the channel.")
        every = Selection.of([known[raw.lower()] for raw in wanted])
    return _restore(app, call, data, team, every, target=f"{team.display_name}/{ch.display_name}")


def _export(scope: str) -> common.Action:
    def action(app: SimulatorApp, call: Call, data: common.Data) -> Response:
        """The posts as one HTML document (built as it is sent)."""
        view, team, selection = _posts(app, call, data, scope)
        tm = view.org.teams

        def rows() -> Iterator[tuple[str, str, str]]:
            for entry in selection:
                found = _post(view, team, entry.id)
                yield found.author, iso_z(found.created_us), found.subject or tm.body(found)

        chunks = containers.html_page(f"{team.display_name}: {selection.count} common.post(s)", rows())
        return containers.stream(chunks, knobs=common.desk(app).knobs, planned=selection.count * 300 + 200)

    return common.named(action, f"export_{scope}")


def _saver(scope: str) -> common.Action:
    return documents.saver(_files, scope, "teams", always_zip=scope != "file")


ROUTES = [
    common.post(TEAM + "/restore", _restore_team),
    common.post(TEAM + "/channels/{channelId}/restore", _restore_channel),
    common.post(TEAM + "/channels/{channelId}/tabs/restore", _restore_tabs),
    common.post(TEAM + "/posts/restore", _restore_posts),
    common.post(TEAM + "/files/restore", _restorer("files")),
    common.post(TEAM + "/files/{fileId}/restore", _restorer("file"), last=7),
    common.post(TEAM + "/channels/{channelId}/files/{fileId}/restore", _restorer("file"), first=8),
    common.post(TEAM + "/posts/export", _export("posts")),
    common.post(TEAM + "/posts/{postId}/export", _export("post")),
    common.post(TEAM + "/files/save", _saver("files")),
    common.post(TEAM + "/files/{fileId}/save", _saver("file"), last=7),
    common.post(TEAM + "/channels/{channelId}/files/{fileId}/save", _saver("file"), first=8),
    common.post(TEAM + "/files/send", common.sender(_files, "files")),
    common.post(TEAM + "/files/{fileId}/send", common.sender(_files, "file"), last=7),
    common.post(TEAM + "/channels/{channelId}/files/{fileId}/send", common.sender(_files, "file"), first=8),
    common.post(TEAM + "/posts/send", common.sender(_posts, "posts")),
    common.post(TEAM + "/posts/{postId}/send", common.sender(_posts, "post")),
    # v5: ``restore``/``export`` on posts, ``restore``/``save`` on files (BROWSE-RESTORE.md §2.8).
    common.verbs(TEAM + "/posts", {"restore": _restore_posts, "export": _export("posts")}, first=5),
    common.verbs(TEAM + "/posts/{postId}", {"export": _export("post")}, first=5),
    common.verbs(TEAM + "/files", {"restore": _restorer("files"), "save": _saver("files")}, first=5),
]
