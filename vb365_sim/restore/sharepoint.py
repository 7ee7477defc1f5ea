"""SharePoint restores and saves (session type ``Vesp``): documents and folders of libraries.

# Reference: BROWSE-RESTORE.md §2.5 -- ``Documents/restore`` ``{documents[]}``, ``Documents/{id}/restore``,
# ``Folders/restore`` ``{folders[]}``, ``Folders/{id}/restore`` (+ creds; ``list`` is the target list,
# the original one when absent); saves of documents, folders and libraries are ZIPs, one document with
# ``asZip: false`` is the file itself; v2-v5 ``…/Action`` (§2.8).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from vb365_sim.browse.sharepoint import _container, _folder, _object, _site
from vb365_sim.contents import SessionView
from vb365_sim.contents.ids import Kind
from vb365_sim.contents.sharepoint import Container, Site
from vb365_sim.restore import common, documents
from vb365_sim.restore.desk import Selection
from vb365_sim.state import bad_request

if TYPE_CHECKING:
    from vb365_sim.app import Call, SimulatorApp

SITE = "Organization/Sites/{siteId}"
ITEM_TYPE = "SharePointItem"


def _one_container(picks: list[tuple[Container, int]]) -> Container:
    # Inferred: a multi-object body selects objects of one library (the target ``list`` is one list).
    if len({c.id for c, _ in picks}) > 1:
        raise bad_request("All selected objects must belong to the same library or list.")
    return picks[0][0]


def _selection(app: SimulatorApp, call: Call, data: common.Data, scope: str) -> tuple[SessionView, Site, Selection]:
    view = common.view_of(app, call, "Vesp")
    sp = view.org.sharepoint
    site = _site(view, call)
    if scope in ("documents", "document"):
        raws = common.ids_of(data, "documents") if scope == "documents" else [call.params["documentId"]]
        found = [_object(view, site, raw, Kind.SP_DOCUMENT, "Document") for raw in raws]
        c = _one_container([(c, k) for c, k, _ in found])
        return view, site, documents.docs(c.tree, view, [(k, slot) for _, k, slot in found],
                                          lambda k, slot: sp.object_id(c, k, slot), ITEM_TYPE)
    if scope == "library":
        c, roots = _container(view, site, call.params["libraryId"], is_list=False), [0]
    else:
        raws = common.ids_of(data, "folders") if scope == "folders" else [call.params["folderId"]]
        picks = [_folder(view, site, raw) for raw in raws]
        c, roots = _one_container(picks), [k for _, k in picks]
    return view, site, documents.folders(c.tree, view, roots, lambda k, slot: sp.object_id(c, k, slot), ITEM_TYPE)


def _restorer(scope: str) -> common.Action:
    def action(app: SimulatorApp, call: Call, data: common.Data) -> Response:
        _, site, selection = _selection(app, call, data, scope)
        target = f"{site.url} ({common.field(data, 'list') or 'original list'})"
        return common.restore(app, call, data, selection, kind=common.DOCUMENTS,
                              title=f"SharePoint restore ({site.name})", target=target)

    return common.named(action, f"restore_{scope}")


_saver = partial(documents.saver, _selection, seed="sharepoint")  # the save action of a scope

# Each path with the scope its operations select. The library restore is S6-S8
# SharePointLibrary_RestoreLibraryAction (RESTRestoreListConfig): every document of the library.
OBJECTS = ((SITE + "/Documents", "documents"), (SITE + "/Documents/{documentId}", "document"),
           (SITE + "/Folders", "folders"), (SITE + "/Folders/{folderId}", "folder"))
LIBRARY = (SITE + "/Libraries/{libraryId}", "library")

ROUTES = [
    *(common.post(f"{base}/restore", _restorer(scope)) for base, scope in (*OBJECTS, LIBRARY)),
    *(common.post(f"{base}/save", _saver(scope)) for base, scope in (*OBJECTS, LIBRARY)),
    *(common.post(f"{base}/send", common.sender(_selection, scope)) for base, scope in (*OBJECTS, LIBRARY)),
    # v2-v5: ``restoreTo`` with ``list`` restores to the original list when it names it (VR, §2.8).
    *(common.verbs(base, {"restoreTo": _restorer(scope), "save": _saver(scope)}, first=2) for base, scope in OBJECTS),
]
