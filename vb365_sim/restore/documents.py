"""Selections of documents in a folder tree, shared by OneDrive, SharePoint and Teams files.

A folder selection holds the folder and everything under it; an entry's path is its folders' names, which
is also its path inside a ZIP.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from vb365_sim.contents import SessionView
from vb365_sim.contents.tree import DocTree
from vb365_sim.restore import containers
from vb365_sim.restore.common import Action, Data, Selector, desk, flag, named
from vb365_sim.restore.desk import Entry, Knobs, Selection
from vb365_sim.state import bad_request

if TYPE_CHECKING:
    from vb365_sim.app import Call, SimulatorApp

DocId = Callable[[int, int], str]


def folder_path(tree: DocTree, k: int) -> str:
    names = []
    while k:
        names.append(tree.folder(k).name)
        k = tree.parent(k) or 0
    return "/".join(reversed(names))


def doc_entry(tree: DocTree, view: SessionView, k: int, slot: int, doc_id: DocId, item_type: str) -> Entry:
    assert view.t is not None
    doc = tree.doc(k, slot, view.t, tree.window(k, view.t, view.show_deleted))
    return Entry(doc_id(k, slot), doc.name, item_type, doc.size_bytes, folder_path(tree, k))


def docs(tree: DocTree, view: SessionView, picks: list[tuple[int, int]], doc_id: DocId, item_type: str) -> Selection:
    return Selection.of([doc_entry(tree, view, k, slot, doc_id, item_type) for k, slot in picks])


def folders(tree: DocTree, view: SessionView, roots: list[int], doc_id: DocId, item_type: str) -> Selection:
    """Every visible document in the folders ``roots`` and below."""
    wanted: list[int] = []
    for k in roots:
        wanted.append(k)
        wanted.extend(tree.subtree(k))
    counts = tree.count_docs(view.t, view.show_deleted, wanted)
    path = lru_cache(maxsize=256)(lambda k: folder_path(tree, k))

    def at(g: int, j: int) -> Entry:
        k = wanted[g]
        assert view.t is not None
        window = tree.window(k, view.t, view.show_deleted)
        doc = tree.doc(k, window.slot(j), view.t, window)
        return Entry(doc_id(k, doc.slot), doc.name, item_type, doc.size_bytes, path(k))

    return Selection.groups(counts, at)


def save(selection: Selection, knobs: Knobs, *, as_zip: bool, seed: str) -> Response:
    """A ZIP of the documents (at their folder paths), or one document as itself when ``as_zip`` is false.

    # Reference: BROWSE-RESTORE.md §2.4 -- "always ZIP, except one document with ``asZip: false``".
    # Inferred: an absent ``asZip`` means a ZIP; entries are named with their folder path.
    """
    if selection.count == 0:
        raise bad_request("There are no documents to save.")
    if selection.count == 1 and not as_zip:
        entry = selection.at(0)
        return containers.download([containers.plain(entry.name, entry.size, f"{seed}/{entry.id}")], knobs=knobs,
                                   as_zip=False)
    # Each entry is computed once: the ZIP's planned size needs every size before the first byte, so the
    # blobs are kept (small records, tens of thousands at most) rather than walking the selection twice.
    blobs = [containers.plain(f"{e.path}/{e.name}" if e.path else e.name, e.size, f"{seed}/{e.id}") for e in selection]
    return containers.download(blobs, knobs=knobs, as_zip=True)


def saver(selector: Selector, scope: str, seed: str, *, always_zip: bool = False) -> Action:
    """The save action of `scope`: the selection `selector` makes, as a ZIP (or the file itself when the body
    asks `asZip: false` and `always_zip` is off)."""
    def action(app: SimulatorApp, call: Call, data: Data) -> Response:
        _, _, selection = selector(app, call, data, scope)
        return save(selection, desk(app).knobs, as_zip=always_zip or flag(data, "asZip", True), seed=seed)

    return named(action, f"save_{scope}")
