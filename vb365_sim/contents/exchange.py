"""Exchange contents of one organization: mailboxes, their folder trees and items, at any point in time.

Mailboxes are numbered in listing order: user mailboxes, shared mailboxes, archive mailboxes (one for every
``archive_every``-th user), then the one public folder mailbox. Users join over time (a ``Timeline``);
shared and public mailboxes exist from the start, an archive exists with its user. A mailbox's folder tree
is small (the well-known folders plus up to ``custom_folders_max`` nested ones) and is rebuilt on demand;
each folder's items are a ``Timeline``, so paging is arithmetic (``timeline.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from vb365_sim.contents.ids import Kind, Position
from vb365_sim.contents.timeline import DAY_US, US, Timeline, Window
from vb365_sim.contents.words import (
    COMPANIES,
    CUSTOM_FOLDERS,
    DOC_WORDS,
    EXTENSIONS,
    FIRST,
    JOBS,
    LAST,
    MEETINGS,
    PREFIXES,
    PROJECTS,
    RECURRENCE,
    ROOMS,
    SHARED,
    TASKS,
    TOPICS,
    long_tail,
    person,
    pick,
    rnd,
    unit,
)
from vb365_sim.contents.workload import Tenant, Workload

FOLDER_ID_LENGTH = 120
ITEM_ID_LENGTH = 152

# (name, type, category, item kind, share of the mailbox's typical Inbox, children)
_WELL_KNOWN: tuple[tuple[str, str, str, str, float, tuple[tuple[str, str], ...]], ...] = (
    ("Inbox", "None", "Inbox", "message", 1.0, ()),
    ("Sent Items", "None", "Sent", "message", 0.5, ()),
    ("Deleted Items", "None", "Deleted", "message", 0.25, ()),
    ("Drafts", "None", "Drafts", "message", 0.02, ()),
    ("Junk Email", "None", "Junk", "message", 0.08, ()),
    ("Outbox", "None", "Outbox", "message", 0.0, ()),
    ("Archive", "None", "None", "message", 0.3, ()),
    ("Calendar", "Appointment", "None", "appointment", 0.3, ()),
    ("Contacts", "Contact", "None", "contact", 0.08, ()),
    ("Tasks", "Task", "None", "task", 0.03, ()),
    ("Notes", "StickyNote", "None", "note", 0.01, ()),
    ("Journal", "Journal", "None", "journal", 0.01, ()),
    ("Conversation History", "None", "None", "message", 0.05, ()),
    ("Sync Issues", "None", "SyncIssues", "message", 0.005,
     (("Conflicts", "Conflicts"), ("Local Failures", "LocalFailures"), ("Server Failures", "ServerFailures"))),
    ("Recoverable Items", "None", "None", "message", 0.0,
     (("Deletions", "PermanentlyDeletedItems"), ("Purges", "Purges"), ("Versions", "Versions"),
      ("DiscoveryHolds", "DiscoveryHolds"))),
    ("TeamsMessagesData", "None", "TeamsMessagesData", "message", 0.1, ()),
)
_ARCHIVE = ("Inbox", "Sent Items", "Deleted Items", "Archive", "Recoverable Items")
_PUBLIC: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Announcements", ()), ("Projects", ("Falcon", "Atlas", "Orion")), ("Help Desk", ()), ("Events", ()))
_CLASSES = {"message": "IPM.Note", "appointment": "IPM.Appointment", "contact": "IPM.Contact", "task": "IPM.Task",
            "note": "IPM.StickyNote", "journal": "IPM.Activity", "post": "IPM.Post"}


@dataclass(frozen=True, slots=True)
class Mailbox:
    slot: int
    id: str
    name: str
    email: str
    is_archive: bool
    is_public: bool
    created_us: int


@dataclass(frozen=True, slots=True)
class MailFolder:
    mailbox: int
    index: int
    id: str
    parent: int | None
    name: str
    type: str
    category: str
    kind: str
    created_us: int
    items: Timeline


@dataclass(frozen=True, slots=True)
class MailItem:
    id: str
    mailbox: int
    folder: int
    slot: int
    item_class: str
    fields: dict[str, Any]
    created_us: int
    deleted: bool

    def text(self) -> str:
        """What a search looks in."""
        return " ".join(str(self.fields.get(k, "")) for k in ("subject", "name", "fullName", "from", "to", "organizer"))


class Exchange(Workload):
    def __init__(self, tenant: Tenant, salt: bytes) -> None:
        super().__init__(tenant, salt)
        size = tenant.size
        self.users = self.spread(size.user_mailboxes, quiet_days=7, tag=b"users")
        self.archives = -(-size.user_mailboxes // size.archive_every)
        self.slots = size.user_mailboxes + size.shared_mailboxes + self.archives + 1
        self.folders = lru_cache(maxsize=512)(self._folders)

    # --- mailboxes ---

    def mailbox_count(self, t: int | None) -> int:
        if t is None:
            return 0
        users = self.users.created_by(t)
        return users + self.size.shared_mailboxes + -(-users // self.size.archive_every) + 1

    def mailbox_slots(self, t: int | None, offset: int, limit: int) -> list[int]:
        """Slots of the mailboxes visible at ``t``, listing positions ``offset .. offset+limit``."""
        if t is None:
            return []
        u, s = self.users.created_by(t), self.size.shared_mailboxes
        a = -(-u // self.size.archive_every)
        segments = ((0, u), (self.size.user_mailboxes, s), (self.size.user_mailboxes + s, a), (self.slots - 1, 1))
        out, position = [], 0
        for base, length in segments:
            for k in range(max(offset, position), min(offset + limit, position + length)):
                out.append(base + k - position)
            position += length
        return out

    def mailbox(self, slot: int) -> Mailbox:
        size = self.size
        domain = self.org_name
        mid = self.codec.uuid(Position(Kind.MAILBOX, slot))
        if slot < size.user_mailboxes:
            name, nick = self._user(slot)
            return Mailbox(slot, mid, name, f"{nick}@{domain}", False, False, self.users.created(slot))
        if slot < size.user_mailboxes + size.shared_mailboxes:
            k = slot - size.user_mailboxes
            label = SHARED[k % len(SHARED)] + ("" if k < len(SHARED) else f" {k // len(SHARED) + 1}")
            return Mailbox(slot, mid, label, f"{label.lower().replace(' ', '')}@{domain}", False, False, self.origin_us)
        if slot < self.slots - 1:
            user = (slot - size.user_mailboxes - size.shared_mailboxes) * size.archive_every
            name, nick = self._user(user)
            return Mailbox(slot, mid, f"In-Place Archive - {name}", f"{nick}@{domain}", True, False,
                           self.users.created(user))
        return Mailbox(slot, mid, "Public Folders", f"publicfolders@{domain}", False, True, self.origin_us)

    def _user(self, u: int) -> tuple[str, str]:
        if u < len(FIRST):  # the first users read like the Microsoft demo tenant: Adele Vance, Alex Wilber, ...
            first, last = FIRST[u], LAST[u]
            return f"{first} {last}", f"{first.lower()}.{last.lower()}"
        name, nick = person(rnd(self.salt, 1, u))
        return name, f"{nick}{u}"

    def mailbox_by_id(self, mailbox_id: str, t: int | None) -> Mailbox | None:
        p = self.codec.from_uuid(mailbox_id, Kind.MAILBOX)
        if p is None or p.a >= self.slots or t is None:
            return None
        box = self.mailbox(p.a)
        return box if box.created_us <= t else None

    # --- folders ---

    def _folders(self, slot: int) -> tuple[MailFolder, ...]:
        box = self.mailbox(slot)
        b = rnd(self.salt, 2, slot)
        median = self.size.folder_items_median * (0.3 if box.is_archive else 1.0)
        specs: list[tuple[int | None, str, str, str, str, float]] = []  # parent, name, type, category, kind, scale
        fixed = 0  # folders below this index are the mailbox's own; user-made ones come later
        parent: int | None
        if box.is_public:
            for name, children in _PUBLIC:
                parent = len(specs)
                specs.append((None, name, "None", "None", "post", 0.2))
                specs.extend((parent, child, "None", "None", "post", 0.1) for child in children)
        elif box.is_archive:
            for name in _ARCHIVE:
                specs.append((None, name, "None", {"Inbox": "Inbox", "Sent Items": "Sent",
                                                   "Deleted Items": "Deleted"}.get(name, "None"), "message", 1.0))
        else:
            for name, ftype, category, kind, scale, subfolders in _WELL_KNOWN:
                parent = len(specs)
                specs.append((None, name, ftype, category, kind, scale))
                specs.extend((parent, child, "None", cat, "message", 0.01) for child, cat in subfolders)
            depth = {0: 1}
            fixed = len(specs)
            for j in range(b[0] % (self.size.custom_folders_max + 1)):
                # Under the Inbox, under an earlier custom folder (up to 3 deep), or at the top.
                choices = [p for p, d in depth.items() if d < 3] + [-1]
                parent_pick = choices[b[1 + j % 20] % len(choices)]
                parent = None if parent_pick == -1 else parent_pick
                words = PROJECTS if parent is not None and parent != 0 else CUSTOM_FOLDERS
                name = words[(b[22] + j) % len(words)] + ("" if j < len(words) else f" {j}")
                depth[len(specs)] = (depth.get(parent, 0) if parent is not None else 0) + 1
                specs.append((parent, name, "None", "None", "message", 0.15))
        fixed = fixed or len(specs)
        out = []
        for index, (parent, name, ftype, category, kind, scale) in enumerate(specs):
            fb = rnd(self.salt, 3, slot, index)
            created = box.created_us + (int(unit(fb, 0) * 120) * DAY_US if index >= fixed else 0)
            big = slot == 0 and index == 0
            count = self.size.big_folder_items if big else long_tail(int(median * scale), unit(fb, 2)) if scale else 0
            # The biggest folder loses nothing, so it lists exactly ``big_folder_items`` at the newest point.
            items = Timeline.spread(count, created, self.end_us, self.salt + fb[:16], delete_every=0 if big else 15,
                                    delete_lag_us=45 * DAY_US)
            fid = self.codec.ews(Position(Kind.MAIL_FOLDER, slot, index), FOLDER_ID_LENGTH)
            out.append(MailFolder(slot, index, fid, parent, name, ftype, category, kind, created, items))
        return tuple(out)

    def folders_at(self, slot: int, t: int | None) -> list[MailFolder]:
        """Every folder of the mailbox at ``t``, parents before children (depth-first)."""
        if t is None:
            return []
        folders = [f for f in self.folders(slot) if f.created_us <= t]
        present = {f.index for f in folders}
        children: dict[int | None, list[MailFolder]] = {}
        for f in folders:
            if f.parent is None or f.parent in present:
                children.setdefault(f.parent, []).append(f)
        out: list[MailFolder] = []

        def walk(parent: int | None) -> None:
            for f in children.get(parent, []):
                out.append(f)
                walk(f.index)

        walk(None)
        return out

    def folder_by_id(self, box: Mailbox, folder_id: str, t: int | None) -> MailFolder | None:
        p = self.codec.from_ews(folder_id, Kind.MAIL_FOLDER)
        if p is None or p.a != box.slot:
            return None
        return next((f for f in self.folders_at(box.slot, t) if f.index == p.b), None)

    # --- items ---

    def window(self, folder: MailFolder, t: int | None, show_deleted: bool) -> Window:
        return folder.items.window(t, show_deleted)

    def item(self, box: Mailbox, folder: MailFolder, slot: int, window: Window) -> MailItem:
        b = rnd(self.salt, 4, box.slot, folder.index, slot)
        created = folder.items.created(slot)
        kind = folder.kind
        if kind == "contact" and b[0] % 12 == 0:
            item_class, fields = "IPM.DistList", {"name": f"{pick(SHARED, b[1])} distribution list"}
        else:
            item_class, fields = _CLASSES[kind], _FIELDS[kind](self, box, folder, b, created)
        iid = self.codec.ews(Position(Kind.MAIL_ITEM, box.slot, folder.index, 0, slot), ITEM_ID_LENGTH)
        return MailItem(iid, box.slot, folder.index, slot, item_class, fields, created, window.is_deleted(slot))

    def item_by_id(self, box: Mailbox, item_id: str, t: int | None, show_deleted: bool) -> MailItem | None:
        p = self.codec.from_ews(item_id, Kind.MAIL_ITEM)
        if p is None or p.a != box.slot:
            return None
        folder = next((f for f in self.folders_at(box.slot, t) if f.index == p.b), None)
        if folder is None:
            return None
        window = self.window(folder, t, show_deleted)
        if p.d >= window.created or (window.is_deleted(p.d) and not show_deleted):
            return None
        return self.item(box, folder, p.d, window)

    # --- item fields per kind ---

    def _address(self, b: bytes, at: int) -> str:
        name, nick = person(b, at)
        return f"{name} <{nick}@{self.org_name}>"

    def _message(self, box: Mailbox, folder: MailFolder, b: bytes, created: int) -> dict[str, Any]:
        owner = f"{box.name} <{box.email}>"
        outgoing = folder.category in ("Sent", "Drafts", "Outbox")
        no_reply = f"no-reply@{pick(COMPANIES, b[3]).lower().replace(' ', '')}.com"
        sender = owner if outgoing else (self._address(b, 0) if b[2] % 4 else no_reply)
        to = self._address(b, 4) if outgoing else owner
        attachments = []
        if b[6] % 12 == 0:
            for n in range(1 + b[7] % 3):
                big = b[8 + n] % 40 == 0  # a few attachments above 25 MB
                attachments.append({
                    "name": f"{pick(DOC_WORDS, b[11 + n])}{pick(EXTENSIONS, b[14 + n])}",
                    "sizeBytes": 25 * 1024 * 1024 + b[17 + n] * 100_000 if big else 2_000 + b[17 + n] * b[20 + n] * 37,
                })
        return {
            "subject": f"{pick(PREFIXES, b[23])}{pick(TOPICS, b[24])}",
            "from": sender,
            "to": to,
            "cc": self._address(b, 25) if b[27] % 3 == 0 else "",
            "bcc": "",
            "sent": created - (5 + b[28] % 300) * US,
            "received": created,
            "reminder": b[29] % 20 == 0,
            "importance": "High" if b[30] % 15 == 0 else "Low" if b[30] % 15 == 1 else "Normal",
            "attachments": attachments,
        }

    def _appointment(self, box: Mailbox, folder: MailFolder, b: bytes, created: int) -> dict[str, Any]:
        start = (created // (3600 * US) + 24 * (1 + b[0] % 14)) * 3600 * US
        recurring = b[1] % 5 == 0
        return {
            "subject": pick(MEETINGS, b[2]),
            "organizer": self._address(b, 3) if b[5] % 2 else f"{box.name} <{box.email}>",
            "attendees": "; ".join(self._address(b, 6 + 2 * n) for n in range(1 + b[12] % 4)),
            "startTime": start,
            "endTime": start + (30 + 30 * (b[13] % 3)) * 60 * US,
            "location": pick(ROOMS, b[14]),
            "recurring": recurring,
            **({"recurrencePatternFormat": pick(RECURRENCE, b[15])} if recurring else {}),
            "attachments": [],
        }

    def _contact(self, box: Mailbox, folder: MailFolder, b: bytes, created: int) -> dict[str, Any]:
        name, nick = person(b, 0)
        company = pick(COMPANIES, b[2])
        domain = company.lower().replace(" ", "") + ".com"
        return {
            "fullName": name, "displayAs": f"{name} ({nick}@{domain})", "fileAs": ", ".join(reversed(name.split(" "))),
            "email": f"{nick}@{domain}", "company": company, "jobTitle": pick(JOBS, b[3]),
            "businessPhone": f"+1 425 555 {b[4] * 37 % 10000:04d}", "mobile": f"+1 206 555 {b[5] * 41 % 10000:04d}",
            "homePhone": "", "fax": "", "address": f"{1 + b[6]} Main Street, Redmond, WA", "imAddress": "",
            "webPage": f"https://www.{domain}",
        }

    def _task(self, box: Mailbox, folder: MailFolder, b: bytes, created: int) -> dict[str, Any]:
        status = pick(("NotStarted", "InProgress", "Completed", "Completed", "WaitingOnSomeoneElse", "Deferred"), b[0])
        percent = {"NotStarted": 0.0, "Completed": 100.0}.get(status, float(25 * (1 + b[1] % 3)))
        return {"subject": pick(TASKS, b[2]), "status": status, "percentComplete": percent, "startDate": created,
                "dueDate": created + (1 + b[3] % 21) * DAY_US, "owner": box.name}

    def _note(self, box: Mailbox, folder: MailFolder, b: bytes, created: int) -> dict[str, Any]:
        return {"subject": f"{pick(TASKS, b[0])} - remember", "date": created}

    def _journal(self, box: Mailbox, folder: MailFolder, b: bytes, created: int) -> dict[str, Any]:
        return {"subject": f"Call with {person(b, 0)[0]}", "startTime": created, "duration": 5 + b[2] % 55,
                "entryType": pick(("Phone call", "Meeting", "E-mail Message", "Conversation"), b[3]),
                "company": pick(COMPANIES, b[4])}

    def _post(self, box: Mailbox, folder: MailFolder, b: bytes, created: int) -> dict[str, Any]:
        return {"from": self._address(b, 0), "postedOn": created, "subject": f"{folder.name}: {pick(TOPICS, b[2])}",
                "importance": "Normal", "attachments": []}


_FIELDS = {"message": Exchange._message, "appointment": Exchange._appointment, "contact": Exchange._contact,
           "task": Exchange._task, "note": Exchange._note, "journal": Exchange._journal, "post": Exchange._post}
