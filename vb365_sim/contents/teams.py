"""Teams contents of one organization: teams, channels (standard, private, shared), posts, files and tabs.

Posts: each channel's messages are a ``Timeline`` in threads of ``G`` messages (a starter and ``G - 1``
replies). The post id is the message's creation time in milliseconds, as in Microsoft Teams: message ``i``
of channel ``c`` is created at ``base_ms + i * step_c + c`` with ``step_c`` a multiple of 64 and fewer
than 64 channels, so the id leads back to ``(c, i)`` by arithmetic. Deleted messages are every ``E``-th,
with ``E`` a multiple of ``G`` so a thread starter is never the deleted one (when threads have replies):
thread starters are then simply every ``G``-th message.

Files: each channel has a folder in the team's library named after the channel (a ``DocTree``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from vb365_sim.contents.ids import Kind, Position
from vb365_sim.contents.timeline import DAY_US, Timeline, Window
from vb365_sim.contents.tree import DocTree
from vb365_sim.contents.words import (
    CHANNELS,
    POSTS,
    REPLIES,
    TABS,
    TEAM_NAMES,
    long_tail,
    person,
    pick,
    rnd,
    unit,
)
from vb365_sim.contents.workload import Tenant, Workload

_MAX_CHANNELS = 64


@dataclass(frozen=True, slots=True)
class Team:
    index: int
    id: str
    display_name: str
    description: str
    alias: str
    group_email: str
    privacy: str
    is_archived: bool
    created_us: int


@dataclass(frozen=True, slots=True)
class Channel:
    team: int
    index: int
    id: str
    display_name: str
    type: str
    created_us: int
    thread: int          # messages per thread (G)
    posts: Timeline
    files: DocTree


@dataclass(frozen=True, slots=True)
class Post:
    channel: Channel
    slot: int
    post_id: int
    parent_id: int | None
    subject: str | None
    author: str
    created_us: int
    modified_us: int
    is_important: bool
    deleted: bool
    attachments: tuple[tuple[str, str], ...]   # (name, url)
    replies: int


@dataclass(frozen=True, slots=True)
class Tab:
    channel: Channel
    index: int
    id: str
    display_name: str
    type: str
    content_url: str


class Teams(Workload):
    def __init__(self, tenant: Tenant, salt: bytes) -> None:
        super().__init__(tenant, salt)
        self.line = self.spread(tenant.size.teams, quiet_days=30, tag=b"teams")
        self.channels = lru_cache(maxsize=512)(self._channels)

    # --- teams ---

    def team_count(self, t: int | None) -> int:
        return self.line.created_by(t)

    def team(self, index: int) -> Team:
        b = rnd(self.salt, 1, index)
        round_number = index // len(TEAM_NAMES) + 1
        name = TEAM_NAMES[index % len(TEAM_NAMES)] + ("" if round_number == 1 else f" {round_number}")
        alias = name.replace(" ", "").replace(".", "")
        return Team(index, self.codec.uuid(Position(Kind.TEAM, index)), name, f"Everything about {name}.", alias,
                    f"{alias}@{self.org_name}", pick(("Public", "Public", "Private", "HiddenMembership"), b[0]),
                    b[1] % 10 == 0, self.line.created(index))

    def team_by_id(self, team_id: str, t: int | None) -> Team | None:
        p = self.codec.from_uuid(team_id, Kind.TEAM)
        return self.team(p.a) if p is not None and p.a < self.team_count(t) else None

    # --- channels ---

    def _channels(self, team: int) -> tuple[Channel, ...]:
        created = self.line.created(team)
        b = rnd(self.salt, 2, team)
        count = min(_MAX_CHANNELS - 1, max(3, 1 + b[0] % self.size.channels_max))
        base_ms = created // 1000 // 64 * 64
        out = []
        for c in range(count):
            cb = rnd(self.salt, 3, team, c)
            name = "General" if c == 0 else CHANNELS[(b[1] + c) % len(CHANNELS)] + (
                "" if c <= len(CHANNELS) else f" {c}")
            kind = ("Standard", "Private", "Shared", "Standard", "Standard", "Standard")[c % 6]
            start = created + c * DAY_US
            posts = long_tail(self.size.posts_median, unit(cb, 2))
            thread = 1 + cb[4] % 5
            step_ms = max(64, (self.end_us - start) // 1000 // max(1, posts) // 64 * 64)
            # Inferred: Teams keeps a deleted message as a placeholder; it is listed (isDeleted) with showDeleted.
            start_ms = base_ms + (c * DAY_US // 1000) // 64 * 64 + c  # ≡ c (mod 64): the id tells the channel
            line = Timeline(posts, start_ms * 1000, step_ms * 1000,
                            self.salt + cb[:16], delete_every=thread * (3 + cb[5] % 4), delete_lag_us=10 * DAY_US,
                            jitter=False)
            files = DocTree.build(docs=long_tail(self.size.team_files_median, unit(cb, 6)), start_us=start,
                                  end_us=self.end_us, salt=self.salt + cb[16:], per_folder=15, branching=2 + cb[8] % 3,
                                  root_name=name)
            cid = self.codec.channel(Position(Kind.CHANNEL, team, c))
            out.append(Channel(team, c, cid, name, kind, start, thread, line, files))
        return tuple(out)

    def channel_by_id(self, team: Team, channel_id: str) -> Channel | None:
        p = self.codec.from_channel(channel_id, Kind.CHANNEL)
        if p is None or p.a != team.index:
            return None
        channels = self.channels(team.index)
        return channels[p.b] if p.b < len(channels) else None

    # --- posts ---

    def post_id(self, channel: Channel, slot: int) -> int:
        return channel.posts.created(slot) // 1000

    def locate_post(self, team: Team, post_id: int) -> tuple[Channel, int] | None:
        channels = self.channels(team.index)
        first = channels[0].posts.start_us // 1000
        c = (post_id - first) % 64
        if c >= len(channels):
            return None
        line = channels[c].posts
        offset = post_id * 1000 - line.start_us
        if offset < 0 or offset % line.step_us:
            return None
        slot = offset // line.step_us
        return (channels[c], slot) if slot < line.count else None

    def window(self, channel: Channel, t: int | None, show_deleted: bool) -> Window:
        return channel.posts.window(t, show_deleted)

    def post(self, channel: Channel, slot: int, window: Window) -> Post:
        b = rnd(self.salt, 4, channel.team, channel.index, slot)
        line = channel.posts
        starter = slot - slot % channel.thread
        created = line.created(slot)
        is_starter = starter == slot
        replies = 0
        if is_starter:
            replies = len(self.replies(channel, slot, window))
        attachments: tuple[tuple[str, str], ...] = ()
        if b[3] % 9 == 0:
            name = f"{pick(('Brief', 'Deck', 'Notes', 'Plan'), b[4])} {slot + 1}.docx"
            url = (f"https://{self.office_name.lower()}.sharepoint.com/sites/{self.team(channel.team).alias}/"
                   f"Shared Documents/{channel.display_name}/{name}")
            attachments = ((name, url),)
        return Post(
            channel=channel,
            slot=slot,
            post_id=created // 1000,
            parent_id=None if is_starter else line.created(starter) // 1000,
            subject=(pick(POSTS, b[0]) if b[1] % 3 else None) if is_starter else None,
            author=person(b, 5)[0],
            created_us=created,
            modified_us=created + (b[7] % 120) * 60_000_000 if b[8] % 6 == 0 else created,
            is_important=b[9] % 25 == 0,
            deleted=window.is_deleted(slot),
            attachments=attachments,
            replies=replies,
        )

    def body(self, post: Post) -> str:
        b = rnd(self.salt, 4, post.channel.team, post.channel.index, post.slot)
        return pick(REPLIES, b[10]) if post.parent_id is not None else pick(POSTS, b[10])

    def replies(self, channel: Channel, starter: int, window: Window) -> list[int]:
        """Slots of the visible replies to the thread started at ``starter``."""
        return [s for s in range(starter + 1, min(starter + channel.thread, window.created))
                if window.show_deleted or not window.is_deleted(s)]

    def starters(self, channel: Channel, window: Window) -> tuple[int, int]:
        """(count, step): visible thread starters are slots ``0, step, 2*step, ...``.

        With one-message threads every message is a starter and deletions apply, so the caller pages the
        window itself; this returns step 0 then.
        """
        if channel.thread == 1:
            return len(window), 0
        return -(-window.created // channel.thread), channel.thread

    # --- files and tabs ---

    def file_id(self, channel: Channel, k: int, slot: int | None = None) -> str:
        return self.codec.uuid(Position(Kind.TEAMS_FILE, channel.team, channel.index, k,
                                        0 if slot is None else slot + 1))

    def locate_file(self, team: Team, file_id: str) -> tuple[Channel, int, int | None] | None:
        p = self.codec.from_uuid(file_id, Kind.TEAMS_FILE)
        if p is None or p.a != team.index:
            return None
        channels = self.channels(team.index)
        if p.b >= len(channels) or p.c >= channels[p.b].files.folders:
            return None
        return channels[p.b], p.c, (None if p.d == 0 else p.d - 1)

    def tabs(self, channel: Channel) -> list[Tab]:
        b = rnd(self.salt, 5, channel.team, channel.index)
        team = self.team(channel.team)
        out = []
        for n in range(1 + b[0] % 4):
            name, app = TABS[(b[1] + n) % len(TABS)]
            url = f"https://{self.office_name.lower()}.sharepoint.com/sites/{team.alias}/{name.replace(' ', '')}"
            out.append(Tab(channel, n, self.codec.uuid(Position(Kind.TAB, channel.team, channel.index, n)), name, app,
                           url))
        return out

    def tab_by_id(self, channel: Channel, tab_id: str) -> Tab | None:
        p = self.codec.from_uuid(tab_id, Kind.TAB)
        if p is None or (p.a, p.b) != (channel.team, channel.index):
            return None
        tabs = self.tabs(channel)
        return tabs[p.c] if p.c < len(tabs) else None
