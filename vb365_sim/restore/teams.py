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

from vb365_sim.browse.teams import _channel, _file, _post, _team
from vb365_sim.contents import SessionView
from vb365_sim.contents.teams import Channel, Team
from vb365_sim.contents.timeline import Window
from vb365_sim.restore import containers, documents
from vb365_sim.restore.common import (
    TEAMS,
    Action,
    Data,
    desk,
    field,
    ids_of,
    post,
    restore,
    sender,
    verbs,
    view_of,
)
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


def _date(data: Data, name: str) -> int | None:
    raw = field(data, name)
    if raw is None:
        return None
    try:
        return parse_datetime(raw)
    except ValueError:
        raise bad_request(f"The value '{raw}' is not valid for {name}.") from None


def _channel_posts(view: SessionView, ch: Channel, data: Data) -> Selection:
    """The posts of ``ch`` created between ``from`` and ``to`` (both optional), oldest first.

    # Inferred: both bounds are inclusive and compare with the post's creation time.
    """
    window = view.org.teams.window(ch, view.t, view.show_deleted)
    created = _Created(ch, window)
    start, stop = _date(data, "from"), _date(data, "to")
    lo = 0 if start is None else bisect.bisect_left(created, start)
    hi = len(window) if stop is None else bisect.bisect_right(created, stop)
    return Selection(max(0, hi - lo), lambda i: _post_entry(ch, window.slot(lo + i)))


def _posts(app: SimulatorApp, call: Call, data: Data, scope: str) -> tuple[SessionView, Team, Selection]:
    view = view_of(app, call, "Vet")
    team = _team(view, call)
    if scope == "post":
        found = _post(view, team, call.params["postId"])
        return view, team, Selection.of([_post_entry(found.channel, found.slot)])
    channel_id = field(data, "channelId")
    if scope == "posts" and field(data, "posts") is not None:
        picks = [_post(view, team, raw) for raw in ids_of(data, "posts")]
        return view, team, Selection.of([_post_entry(p.channel, p.slot) for p in picks])
    if not channel_id:
        raise bad_request("channelId is required." if scope == "channel" else "Specify posts or a channelId.")
    return view, team, _channel_posts(view, _channel(view, team, str(channel_id)), data)


def _files(app: SimulatorApp, call: Call, data: Data, scope: str) -> tuple[SessionView, Team, Selection]:
    view = view_of(app, call, "Vet")
    tm = view.org.teams
    team = _team(view, call)
    if scope == "file":
        in_channel = _channel(view, team, call.params["channelId"]) if "channelId" in call.params else None
        picks = [_file(view, team, call.params["fileId"], in_channel)]
    elif field(data, "files") is not None:
        picks = [_file(view, team, raw, None) for raw in ids_of(data, "files")]
    else:
        channel_id = field(data, "channelId")
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


def _restore_posts(app: SimulatorApp, call: Call, data: Data) -> Response:
    _, team, selection = _posts(app, call, data, "channel")
    return restore(app, call, data, selection, kind=TEAMS, title=f"Teams restore ({team.display_name})",
                   target=f"{team.display_name} (original location)")


def _restorer(scope: str) -> Action:
    def action(app: SimulatorApp, call: Call, data: Data) -> Response:
        """Files; ``restoreChangedItems``, ``restoreMissingItems`` and ``fileVersion`` are required (S8)."""
        if call.version >= 6:
            for name in ("restoreChangedItems", "restoreMissingItems"):
                if not isinstance(field(data, name), bool):
                    raise bad_request(f"{name} is required.")
            if str(field(data, "fileVersion") or "").lower() not in ("all", "last"):
                raise bad_request("fileVersion is required. Valid values: All, Last.")
        _, team, selection = _files(app, call, data, scope)
        return restore(app, call, data, selection, kind=TEAMS, title=f"Teams restore ({team.display_name})",
                       target=f"{team.display_name} (original location)")

    action.__name__ = f"restore_{scope}"
    return action


def _export(scope: str) -> Action:
    def action(app: SimulatorApp, call: Call, data: Data) -> Response:
        """The posts as one HTML document (built as it is sent)."""
        view, team, selection = _posts(app, call, data, scope)
        tm = view.org.teams

        def rows() -> Iterator[tuple[str, str, str]]:
            for entry in selection:
                found = _post(view, team, entry.id)
                yield found.author, iso_z(found.created_us), found.subject or tm.body(found)

        chunks = containers.html_page(f"{team.display_name}: {selection.count} post(s)", rows())
        return containers.stream(chunks, knobs=desk(app).knobs, planned=selection.count * 300 + 200)

    action.__name__ = f"export_{scope}"
    return action


def _saver(scope: str) -> Action:
    return documents.saver(_files, scope, "teams", always_zip=scope != "file")


ROUTES = [
    post(TEAM + "/posts/restore", _restore_posts),
    post(TEAM + "/files/restore", _restorer("files")),
    post(TEAM + "/files/{fileId}/restore", _restorer("file"), last=7),
    post(TEAM + "/channels/{channelId}/files/{fileId}/restore", _restorer("file"), first=8),
    post(TEAM + "/posts/export", _export("posts")),
    post(TEAM + "/posts/{postId}/export", _export("post")),
    post(TEAM + "/files/save", _saver("files")),
    post(TEAM + "/files/{fileId}/save", _saver("file"), last=7),
    post(TEAM + "/channels/{channelId}/files/{fileId}/save", _saver("file"), first=8),
    post(TEAM + "/files/send", sender(_files, "files")),
    post(TEAM + "/files/{fileId}/send", sender(_files, "file"), last=7),
    post(TEAM + "/channels/{channelId}/files/{fileId}/send", sender(_files, "file"), first=8),
    post(TEAM + "/posts/send", sender(_posts, "posts")),
    post(TEAM + "/posts/{postId}/send", sender(_posts, "post")),
    # v5: ``restore``/``export`` on posts, ``restore``/``save`` on files (BROWSE-RESTORE.md §2.8).
    verbs(TEAM + "/posts", {"restore": _restore_posts, "export": _export("posts")}, first=5),
    verbs(TEAM + "/posts/{postId}", {"export": _export("post")}, first=5),
    verbs(TEAM + "/files", {"restore": _restorer("files"), "save": _saver("files")}, first=5),
]
