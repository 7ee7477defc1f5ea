"""SharePoint restores and saves (session type ``Vesp``): documents and folders of libraries.

# Reference: BROWSE-RESTORE.md §2.5 -- ``Documents/restore`` ``{documents[]}``, ``Documents/{id}/restore``,
# ``Folders/restore`` ``{folders[]}``, ``Folders/{id}/restore`` (+ creds; ``list`` is the target list,
# the original one when absent); saves of documents, folders and libraries are ZIPs, one document with
# ``asZip: false`` is the file itself; v2-v5 ``…/Action`` (§2.8).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from vb365_sim.browse.sharepoint import _container, _folder, _object, _site
from vb365_sim.contents import SessionView
from vb365_sim.contents.ids import Kind
from vb365_sim.contents.sharepoint import Container, Site
from vb365_sim.restore import documents
from vb365_sim.restore.common import (
    DOCUMENTS,
    Action,
    Data,
    field,
    ids_of,
    post,
    restore,
    sender,
    verbs,
    view_of,
)
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


def _selection(app: SimulatorApp, call: Call, data: Data, scope: str) -> tuple[SessionView, Site, Selection]:
    view = view_of(app, call, "Vesp")
    sp = view.org.sharepoint
    site = _site(view, call)
    if scope in ("documents", "document"):
        raws = ids_of(data, "documents") if scope == "documents" else [call.params["documentId"]]
        found = [_object(view, site, raw, Kind.SP_DOCUMENT, "Document") for raw in raws]
        c = _one_container([(c, k) for c, k, _ in found])
        return view, site, documents.docs(c.tree, view, [(k, slot) for _, k, slot in found],
                                          lambda k, slot: sp.object_id(c, k, slot), ITEM_TYPE)
    if scope == "library":
        c, roots = _container(view, site, call.params["libraryId"], is_list=False), [0]
    else:
        raws = ids_of(data, "folders") if scope == "folders" else [call.params["folderId"]]
        picks = [_folder(view, site, raw) for raw in raws]
        c, roots = _one_container(picks), [k for _, k in picks]
    return view, site, documents.folders(c.tree, view, roots, lambda k, slot: sp.object_id(c, k, slot), ITEM_TYPE)


def _restorer(scope: str) -> Action:
    def action(app: SimulatorApp, call: Call, data: Data) -> Response:
        _, site, selection = _selection(app, call, data, scope)
        target = f"{site.url} ({field(data, 'list') or 'original list'})"
        return restore(app, call, data, selection, kind=DOCUMENTS, title=f"SharePoint restore ({site.name})",
                       target=target)

    action.__name__ = f"restore_{scope}"
    return action


def _saver(scope: str) -> Action:
    return documents.saver(_selection, scope, "sharepoint")


DOCS, DOC = SITE + "/Documents", SITE + "/Documents/{documentId}"
FOLDERS, FOLDER = SITE + "/Folders", SITE + "/Folders/{folderId}"

ROUTES = [
    post(DOCS + "/restore", _restorer("documents")),
    post(DOC + "/restore", _restorer("document")),
    post(FOLDERS + "/restore", _restorer("folders")),
    post(FOLDER + "/restore", _restorer("folder")),
    post(DOCS + "/save", _saver("documents")),
    post(DOC + "/save", _saver("document")),
    post(FOLDERS + "/save", _saver("folders")),
    post(FOLDER + "/save", _saver("folder")),
    post(SITE + "/Libraries/{libraryId}/save", _saver("library")),
    *(post(f"{base}/send", sender(_selection, scope)) for base, scope in
      ((DOCS, "documents"), (DOC, "document"), (FOLDERS, "folders"), (FOLDER, "folder"),
       (SITE + "/Libraries/{libraryId}", "library"))),
    # v2-v5: ``restoreTo`` with ``list`` restores to the original list when it names it (VR, §2.8).
    verbs(DOCS, {"restoreTo": _restorer("documents"), "save": _saver("documents")}, first=2),
    verbs(DOC, {"restoreTo": _restorer("document"), "save": _saver("document")}, first=2),
    verbs(FOLDERS, {"restoreTo": _restorer("folders"), "save": _saver("folders")}, first=2),
    verbs(FOLDER, {"restoreTo": _restorer("folder"), "save": _saver("folder")}, first=2),
]
