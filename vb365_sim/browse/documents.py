"""What OneDrive, SharePoint and Teams file listings share: folder/document paging, versions, shapes.

# Reference: vb365_rest_v8.json RESTOneDriveDocument / RESTOneDriveFolder / RESTSharePointDocument /
# RESTSharePointFolder / RESTSharePointItem: ``id``, ``name``, ``createdBy``, ``creationTime``,
# ``modifiedBy``, ``modificationTime`` required; ``version`` a string, ``versionId`` a nullable int32;
# ``isFolder`` from v7. Version ids are SharePoint's 512 per major version (``version`` "3.0" = 1536).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from vb365_sim.browse.common import ALL, ROOT, arg, body, body_field, concat, paging, version_id, version_label
from vb365_sim.contents import SessionView
from vb365_sim.contents.tree import Doc, DocTree, Folder
from vb365_sim.contents.words import person
from vb365_sim.state import bad_request, iso_z, not_found

if TYPE_CHECKING:
    from vb365_sim.app import Call

def someone(byte: int, owner: str | None = None) -> str:
    """Who created or changed something: mostly the owner of a personal drive, else a colleague."""
    if owner is not None and byte % 5:
        return owner
    return person(bytes((byte, byte * 7 % 256)))[0]


def folder_fields(call: Call, tree: DocTree, folder: Folder, owner: str | None) -> dict[str, Any]:
    creator = someone(folder.index % 256, owner)
    out: dict[str, Any] = {"version": version_label(1), "id": "", "versionId": version_id(1), "name": folder.name,
                           "createdBy": creator, "creationTime": iso_z(folder.created_us), "modifiedBy": creator,
                           "modificationTime": iso_z(folder.created_us)}
    if call.version >= 7:
        out["isFolder"] = True
    return out


def doc_fields(call: Call, tree: DocTree, doc: Doc, owner: str | None, n: int | None = None) -> dict[str, Any]:
    """The fields of ``doc`` as of its version ``n`` (the current one by default)."""
    n = doc.version if n is None else n
    modified = tree.version_time(doc, n)
    out: dict[str, Any] = {"sizeBytes": tree.version_size(doc, n), "version": version_label(n), "id": "",
                           "versionId": version_id(n), "name": doc.name, "createdBy": someone(doc.author, owner),
                           "creationTime": iso_z(doc.created_us),
                           "modifiedBy": someone(doc.editor if n > 1 else doc.author, owner),
                           "modificationTime": iso_z(modified)}
    if call.version >= 7:
        out["isFolder"] = False
    return out


def folders_under(tree: DocTree, view: SessionView, parent: int | None) -> list[int]:
    """Folders listed for ``parent`` (None: every folder of the tree), existing at the point in time."""
    chosen = range(1, tree.folders) if parent is None else tree.children(parent)
    return [k for k in chosen if tree.folder_exists(k, view.t)]


def page_entries(trees: list[tuple[DocTree, list[int], list[int]]], view: SessionView, offset: int,
                 limit: int) -> tuple[list[tuple[DocTree, int, int | None]], int]:
    """A page over several trees, each giving (folders to list as entries, folders whose documents follow)."""
    parts: list[Any] = []
    for tree, folder_entries, doc_folders in trees:
        parts.append((len(folder_entries),
                      lambda off, lim, t=tree, f=folder_entries: [(t, k, None) for k in f[off:off + lim]]))
        for k in doc_folders:
            if not tree.folder_exists(k, view.t):
                continue
            window = tree.window(k, view.t, view.show_deleted)
            parts.append((len(window), lambda off, lim, t=tree, k=k, w=window: [(t, k, s) for s in w.slots(off, lim)]))
    return concat(parts, offset, limit)


def resolve_parent(tree: DocTree, view: SessionView, parent: str, folder_of: Any) -> int | None:
    """``ALL`` → None, ``ROOT`` → 0, an id → its folder index (404 when not one of this tree's folders)."""
    if parent == ALL:
        return None
    if parent == ROOT:
        return 0
    k = folder_of(parent)
    if k is None or not tree.folder_exists(k, view.t):
        raise not_found(f"Folder with ID {parent} was not found.")
    return int(k)


def visible_doc(tree: DocTree, view: SessionView, k: int, slot: int, what: str, raw_id: str) -> Doc:
    """The document at (k, slot) if it exists at the point in time (deleted ones only with showDeleted)."""
    if view.t is None or not tree.folder_exists(k, view.t):
        raise not_found(f"{what} with ID {raw_id} was not found.")
    window = tree.window(k, view.t, view.show_deleted)
    if slot >= window.created or (window.is_deleted(slot) and not view.show_deleted):
        raise not_found(f"{what} with ID {raw_id} was not found.")
    return tree.doc(k, slot, view.t, window)


def previous_versions(view: SessionView, doc: Doc) -> list[int]:
    """Version numbers listed by ``…/Versions``: the previous ones, and only with ``showAllVersions``.

    # Inferred: a session started without ``showAllVersions`` lists no previous versions (its explore
    # options say not to); the current version is the document itself (BROWSE-RESTORE.md §1.3).
    """
    return list(range(1, doc.version)) if view.show_all_versions else []


def version_arg(view: SessionView, doc: Doc, raw: str, what: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = -1
    n = value // 512 if value > 0 and value % 512 == 0 else 0
    if not 1 <= n <= doc.version or (n < doc.version and not view.show_all_versions):
        raise not_found(f"Version {raw} of {what} was not found.")
    return n


ITEM_TYPES = ("All", "Folders", "Documents")


def search_args(call: Call) -> tuple[str, str, int, int]:
    """A document search's ``query`` (from the body), ``itemType`` (case-insensitive, All when absent; 400 for
    another value), ``offset`` and ``limit``."""
    query = str(body_field(body(call), "query") or "")
    item_type = next((t for t in ITEM_TYPES if t.lower() == (arg(call, "itemType") or "All").lower()), None)
    if item_type is None:
        raise bad_request(f"The value '{arg(call, 'itemType')}' is not valid for itemType.")
    offset, limit = paging(call)
    return query, item_type, offset, limit


def tree_hits(view: SessionView, tree: DocTree, under: int | None, match: Callable[[dict[str, Any]], bool],
              item_type: str) -> Iterator[tuple[int, int | None]]:
    """What a search of `tree` (below folder `under`, or all of it) finds as of the session's point in time:
    (folder, None) for a folder, (folder, slot) for a document; `item_type` is All, Folders or Documents."""
    scope = [under, *tree.subtree(under)] if under is not None else range(tree.folders)
    for k in scope:
        if not tree.folder_exists(k, view.t):
            continue
        if item_type != "Documents" and k and k != under and match({"name": tree.folder(k).name}):
            yield k, None
        if item_type == "Folders":
            continue
        assert view.t is not None
        window = tree.window(k, view.t, view.show_deleted)
        for slot in window.slots(0, len(window)):
            if match({"name": tree.doc(k, slot, view.t, window).name}):
                yield k, slot
