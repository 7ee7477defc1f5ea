"""A folder tree with documents, computed not stored: OneDrives, SharePoint libraries and lists, Teams files.

Folders are numbered breadth-first with a fixed branching factor ``b``: folder 0 is the root (never listed
as a folder), the children of folder ``k`` are ``k*b+1 .. k*b+b``, its parent is ``(k-1)//b``. ``b`` is
chosen so the deepest folder is at most 8 levels down (BROWSE-RESTORE.md §6.2). Documents are spread evenly
over the folders; folder ``k``'s documents are their own ``Timeline``, so "documents of folder k at T" and
any page of them are arithmetic, and "every document of the tree" is a concatenation walked with one
count per folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from vb365_sim.contents.timeline import DAY_US, Timeline, Window, version_time, versions_at
from vb365_sim.contents.words import BIG_EXTENSIONS, DOC_WORDS, DRIVE_FOLDERS, EXTENSIONS, pick, rnd, unit

MAX_DEPTH = 8
GIB = 1 << 30


def branching_for(folders: int, wanted: int) -> int:
    """The smallest branching >= ``wanted`` that keeps ``folders`` folders within ``MAX_DEPTH`` levels."""
    b = max(1, wanted)
    while sum(b**level for level in range(MAX_DEPTH + 1)) < folders:
        b += 1
    return b


@dataclass(frozen=True, slots=True)
class Doc:
    """One document (or list item) as it is at the session's point in time."""

    folder: int
    slot: int
    name: str
    size_bytes: int
    created_us: int
    modified_us: int
    version: int          # current version number at T (1-based): versions 1 .. version-1 are previous ones
    deleted: bool
    author: int           # index into the people of the owner (see ``people``)
    editor: int


@dataclass(frozen=True, slots=True)
class Folder:
    index: int
    parent: int | None
    name: str
    created_us: int
    depth: int


@dataclass(frozen=True)
class DocTree:
    """``folders`` folders (root included) holding ``docs`` documents between ``start_us`` and ``end_us``."""

    folders: int
    branching: int
    docs: int
    start_us: int
    end_us: int
    salt: bytes
    giant_at: int = -1         # slot in the root folder forced above 2 GB (-1: none)
    root_name: str = ""
    folder_words: tuple[str, ...] = DRIVE_FOLDERS
    doc_words: tuple[str, ...] = DOC_WORDS
    extensions: tuple[str, ...] = EXTENSIONS

    @classmethod
    def build(cls, *, docs: int, start_us: int, end_us: int, salt: bytes, per_folder: int = 25,
              branching: int = 3, **extra: object) -> DocTree:
        folders = max(1, docs // max(1, per_folder))
        return cls(folders, branching_for(folders, branching), docs, start_us, end_us, salt, **extra)  # type: ignore[arg-type]

    # --- folders ---

    def children(self, k: int) -> range:
        lo = k * self.branching + 1
        return range(min(lo, self.folders), min(lo + self.branching, self.folders))

    def parent(self, k: int) -> int | None:
        return None if k == 0 else (k - 1) // self.branching

    def depth(self, k: int) -> int:
        d = 0
        while k:
            k = (k - 1) // self.branching
            d += 1
        return d

    def folder(self, k: int) -> Folder:
        parent = self.parent(k)
        if parent is None:
            name = self.root_name
        else:
            position = (k - 1) % self.branching
            base = rnd(self.salt, 1, parent)[0]
            word = self.folder_words[(base + position) % len(self.folder_words)]
            # Siblings never share a name; beyond the word list, number them.
            name = word if position < len(self.folder_words) else f"{word} {position + 1}"
        # Folders are made in the first tenth of the tree's life, parents before children.
        created = self.start_us + (self.end_us - self.start_us) // 10 * k // max(1, self.folders)
        return Folder(k, parent, name, created, self.depth(k))

    def folder_exists(self, k: int, t: int | None) -> bool:
        return 0 <= k < self.folders and t is not None and self.folder(k).created_us <= t

    def subtree(self, k: int) -> Iterator[int]:
        """Folders under ``k`` (not ``k`` itself), breadth-first."""
        level = self.children(k)
        while len(level):
            yield from level
            level = range(self.children(level.start).start, self.children(level.stop - 1).stop)

    # --- documents ---

    def docs_in(self, k: int) -> int:
        base, extra = divmod(self.docs, self.folders)
        return base + (1 if k < extra else 0)

    def timeline(self, k: int) -> Timeline:
        start = self.folder(k).created_us
        return Timeline.spread(self.docs_in(k), start, self.end_us, self.salt + k.to_bytes(4, "little"),
                               delete_every=11, delete_lag_us=40 * DAY_US)

    def window(self, k: int, t: int | None, show_deleted: bool) -> Window:
        return self.timeline(k).window(t, show_deleted)

    def doc(self, k: int, slot: int, t: int, window: Window | None = None) -> Doc:
        line = self.timeline(k)
        b = rnd(self.salt, 2, k, slot)
        created = line.created(slot)
        ext = pick(self.extensions, b[1])
        size = int(2 ** (10 + 17 * unit(b, 2) ** 1.6))  # 1 KB .. 128 MB, mostly small
        if b[4] == 0 and b[5] < 16 or (k == 0 and slot == self.giant_at):
            ext = pick(BIG_EXTENSIONS, b[6])
            size = 2 * GIB + int(unit(b, 7) * 2 * GIB)  # over 2 GB
        versions_total = 1 + (b[9] % 8 if b[10] < 128 else 0)
        current = versions_at(created, versions_total, self.end_us, t)
        return Doc(
            folder=k,
            slot=slot,
            name=f"{pick(self.doc_words, b[0])} {slot + 1}{ext}",
            size_bytes=size,
            created_us=created,
            modified_us=version_time(created, versions_total, self.end_us, current),
            version=current,
            deleted=window.is_deleted(slot) if window is not None else False,
            author=b[11],
            editor=b[12] if current > 1 else b[11],
        )

    def version_size(self, doc: Doc, n: int) -> int:
        """Size of version ``n`` (earlier versions are a little smaller)."""
        return max(1, doc.size_bytes - (doc.version - n) * (doc.size_bytes // 50))

    def version_time(self, doc: Doc, n: int) -> int:
        b = rnd(self.salt, 2, doc.folder, doc.slot)
        return version_time(doc.created_us, 1 + (b[9] % 8 if b[10] < 128 else 0), self.end_us, n)

    def count_docs(self, t: int | None, show_deleted: bool, folders: list[int]) -> list[int]:
        return [len(self.window(k, t, show_deleted)) if self.folder_exists(k, t) else 0 for k in folders]
