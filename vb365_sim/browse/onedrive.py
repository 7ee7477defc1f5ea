"""OneDrive browse routes and shapes (session type ``Veod``, from v2).

# Reference: BROWSE-RESTORE.md §1.3 and vb365_rest_v6/v7/v8.json (OneDrive_*, OneDriveFolder_*,
# OneDriveDocument_*): drives, folders (``parentId``), documents (``parentId``; v7+ ``includeFolders`` and a
# ``PageOfRESTItemComposed``), previous versions, searches with ``setId`` and ``itemType``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from vb365_sim.browse import common
from vb365_sim.browse.documents import (
    doc_fields,
    folder_fields,
    folders_under,
    page_entries,
    previous_versions,
    resolve_parent,
    search_args,
    tree_hits,
    version_arg,
    visible_doc,
)
from vb365_sim.contents import SessionView
from vb365_sim.contents.onedrive import Drive, OneDrive
from vb365_sim.contents.search import matcher
from vb365_sim.state import not_found

if TYPE_CHECKING:
    from vb365_sim.app import Call, SimulatorApp

DRIVES = "Organization/OneDrives"
DRIVE = DRIVES + "/{oneDriveId}"


def drive_json(call: Call, d: Drive) -> dict[str, Any]:
    top = f"?parentId={common.top_word(call)}"
    return {"id": d.id, "name": d.name, "url": d.url,
            "_links": {"self": common.link(call, DRIVE, oneDriveId=d.id),
                       "folders": common.href(call, common.path(call, DRIVE + "/Folders", oneDriveId=d.id) + top),
                       "documents": common.href(call, common.path(call, DRIVE + "/Documents", oneDriveId=d.id) + top)}}


def _with_links(call: Call, d: Drive, fields: dict[str, Any], kind: str, oid: str, parent_id: str | None,
                self_path: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"oneDriveId": d.id} if call.version >= 8 else {}
    fields["id"] = oid
    out.update(fields)
    ids = {"oneDriveId": d.id, "id": oid}
    links = {"self": common.href(call, self_path or common.path(call, DRIVE + f"/{kind}/{{id}}", **ids)),
             "oneDrive": common.link(call, DRIVE, oneDriveId=d.id)}
    if parent_id is not None:
        links["parent"] = common.link(call, DRIVE + "/Folders/{id}", oneDriveId=d.id, id=parent_id)
    links["versions"] = common.link(call, DRIVE + f"/{kind}/{{id}}/Versions", **ids)
    out["_links"] = links
    return out


def entry_json(call: Call, od: OneDrive, view: SessionView, d: Drive, k: int, slot: int | None,
               n: int | None = None) -> dict[str, Any]:
    tree = od.tree(d.slot)
    parent = tree.parent(k) if slot is None else k
    parent_id = od.folder_id(d.slot, parent) if parent else None
    if slot is None:
        return _with_links(call, d, folder_fields(call, tree, tree.folder(k), d.name), "Folders",
                           od.folder_id(d.slot, k), parent_id)
    assert view.t is not None
    window = tree.window(k, view.t, view.show_deleted)
    doc = tree.doc(k, slot, view.t, window)
    did = od.document_id(d.slot, k, slot)
    fields = doc_fields(call, tree, doc, d.name, n)
    fields = {"sizeBytes": fields.pop("sizeBytes"), "inheritedPermissions": doc.author % 7 != 0, **fields}
    self_path = None
    if n is not None:
        self_path = common.path(call, DRIVE + "/Documents/{id}/Versions/{v}", oneDriveId=d.id, id=did, v=str(512 * n))
    return _with_links(call, d, fields, "Documents", did, parent_id, self_path)


# --- lookups --------------------------------------------------------------------------------------------


def _drive(view: SessionView, call: Call) -> Drive:
    raw = call.params["oneDriveId"]
    return common.existing(view.org.onedrive.drive_by_id(raw, view.t), "OneDrive", raw)


def _folder(od: OneDrive, view: SessionView, d: Drive, raw: str) -> int:
    k = resolve_parent(od.tree(d.slot), view, raw, lambda value: od.folder_of(d, value))
    assert k is not None
    return k


def _document(od: OneDrive, view: SessionView, d: Drive, raw: str) -> tuple[int, int]:
    found = common.existing(od.document_of(d, raw), "Document", raw)
    visible_doc(od.tree(d.slot), view, found[0], found[1], "Document", raw)
    return found


# --- handlers -------------------------------------------------------------------------------------------


def drives(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Veod")
    od = view.org.onedrive
    offset, limit = common.paging(call)
    total = od.drive_count(view.t)
    results = [drive_json(call, od.drive(s)) for s in range(offset, min(total, offset + limit))]
    return common.list_page(app, call, common.path(call, DRIVES), results, offset=offset, limit=limit, total=total)


def drive(app: SimulatorApp, call: Call) -> Response:
    return common.respond(drive_json(call, _drive(common.session_view(app, call, "Veod"), call)))


def folders(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Veod")
    od, d = view.org.onedrive, _drive(view, call)
    offset, limit = common.paging(call)
    tree = od.tree(d.slot)
    parent = resolve_parent(tree, view, common.parent_arg(call), lambda value: od.folder_of(d, value))
    chosen = folders_under(tree, view, parent)
    results = [entry_json(call, od, view, d, k, None) for k in chosen[offset : offset + limit]]
    return common.list_page(app, call, common.path(call, DRIVE + "/Folders", oneDriveId=d.id), results, offset=offset,
                            limit=limit, total=len(chosen), scanned=len(chosen) if parent is None else 0)


def documents(app: SimulatorApp, call: Call) -> Response:
    """Documents of a folder (``root``: the drive's top level; absent: the whole drive, slow).

    ``includeFolders`` (v7+) lists the folder's subfolders first (every folder when ``parentId`` is absent).
    """
    view = common.session_view(app, call, "Veod")
    od, d = view.org.onedrive, _drive(view, call)
    offset, limit = common.paging(call)
    tree = od.tree(d.slot)
    parent = resolve_parent(tree, view, common.parent_arg(call), lambda value: od.folder_of(d, value))
    with_folders = call.version >= 7 and common.bool_arg(call, "includeFolders")
    folder_entries = folders_under(tree, view, parent) if with_folders else []
    doc_folders = list(range(tree.folders)) if parent is None else [parent]
    entries, total = page_entries([(tree, folder_entries, doc_folders)], view, offset, limit)
    results = [entry_json(call, od, view, d, k, slot) for _, k, slot in entries]
    return common.list_page(app, call, common.path(call, DRIVE + "/Documents", oneDriveId=d.id), results, offset=offset,
                            limit=limit, total=total, scanned=total if parent is None else 0)


def folder(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Veod")
    od, d = view.org.onedrive, _drive(view, call)
    k = _folder(od, view, d, call.params["folderId"])
    wanted = common.arg(call, "versionId")
    if wanted not in (None, "", "512"):  # folders have one version
        raise not_found(f"Version {wanted} of folder {call.params['folderId']} was not found.")
    return common.respond(entry_json(call, od, view, d, k, None))


def folder_versions(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Veod")
    od, d = view.org.onedrive, _drive(view, call)
    _folder(od, view, d, call.params["folderId"])
    offset, limit = common.paging(call)
    return common.list_page(app, call, common.path(call, DRIVE + "/Folders/{id}/Versions", oneDriveId=d.id,
                                                   id=call.params["folderId"]), [], offset=offset, limit=limit, total=0)


def folder_version(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Veod")
    od, d = view.org.onedrive, _drive(view, call)
    _folder(od, view, d, call.params["folderId"])
    raise not_found(f"Version {call.params['versionId']} of folder {call.params['folderId']} was not found.")


def document(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Veod")
    od, d = view.org.onedrive, _drive(view, call)
    k, slot = _document(od, view, d, call.params["documentId"])
    return common.respond(entry_json(call, od, view, d, k, slot))


def document_versions(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Veod")
    od, d = view.org.onedrive, _drive(view, call)
    k, slot = _document(od, view, d, call.params["documentId"])
    offset, limit = common.paging(call)
    assert view.t is not None
    numbers = previous_versions(view, od.tree(d.slot).doc(k, slot, view.t))
    results = [entry_json(call, od, view, d, k, slot, n) for n in numbers[offset : offset + limit]]
    return common.list_page(app, call, common.path(call, DRIVE + "/Documents/{id}/Versions", oneDriveId=d.id,
                                                   id=call.params["documentId"]), results, offset=offset, limit=limit,
                            total=len(numbers))


def document_version(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Veod")
    od, d = view.org.onedrive, _drive(view, call)
    k, slot = _document(od, view, d, call.params["documentId"])
    assert view.t is not None
    doc = od.tree(d.slot).doc(k, slot, view.t)
    n = version_arg(view, doc, call.params["versionId"], f"document {call.params['documentId']}")
    return common.respond(entry_json(call, od, view, d, k, slot, n if n < doc.version else None))


# --- search ---------------------------------------------------------------------------------------------

def _matches(od: OneDrive, view: SessionView, drives_: list[Drive], under: int | None, query: str,
             item_type: str) -> Iterator[tuple[Drive, int, int | None]]:
    match = matcher(query)
    for d in drives_:
        for k, slot in tree_hits(view, od.tree(d.slot), under, match, item_type):
            yield d, k, slot


def _search(app: SimulatorApp, call: Call, scope: str) -> Response:
    view = common.session_view(app, call, "Veod")
    od = view.org.onedrive
    query, item_type, offset, limit = search_args(call)
    under = None
    if scope == "all":
        chosen = [od.drive(s) for s in range(od.drive_count(view.t))]
        page_path = common.path(call, DRIVES + "/search")
    else:
        chosen = [_drive(view, call)]
        page_path = common.path(call, DRIVE + "/search", oneDriveId=chosen[0].id)
        if scope == "folder":
            under = _folder(od, view, chosen[0], call.params["folderId"])
            page_path = common.path(call, DRIVE + "/Folders/{id}/search", oneDriveId=chosen[0].id,
                                    id=call.params["folderId"])
    return common.search_page(app, call, page_path, (view.session_id, page_path.split("/", 2)[2], query, item_type),
                              lambda: _matches(od, view, chosen, under, query, item_type),
                              lambda hit: entry_json(call, od, view, *hit), offset=offset, limit=limit)


ROUTES: list[common.BrowseRoute] = [
    *common.routes("GET", DRIVES, drives, first=2),
    *common.routes("GET", DRIVE, drive, first=2),
    *common.routes("GET", DRIVE + "/Folders", folders, first=2),
    *common.routes("GET", DRIVE + "/Folders/{folderId}", folder, first=2),
    *common.routes("GET", DRIVE + "/Folders/{folderId}/Versions", folder_versions, first=2),
    *common.routes("GET", DRIVE + "/Folders/{folderId}/Versions/{versionId}", folder_version, first=2),
    *common.routes("GET", DRIVE + "/Documents", documents, first=2),
    *common.routes("GET", DRIVE + "/Documents/{documentId}", document, first=2),
    *common.routes("GET", DRIVE + "/Documents/{documentId}/Versions", document_versions, first=2),
    *common.routes("GET", DRIVE + "/Documents/{documentId}/Versions/{versionId}", document_version, first=2),
    *common.routes("POST", DRIVES + "/search", common.scoped(_search, "all"), first=6),
    *common.routes("POST", DRIVE + "/search", common.scoped(_search, "drive"), first=6),
    *common.routes("POST", DRIVE + "/Folders/{folderId}/search", common.scoped(_search, "folder"), first=6),
]
