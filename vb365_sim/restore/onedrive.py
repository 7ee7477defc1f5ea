"""OneDrive restores, copies and saves (session type ``Veod``).

# Reference: BROWSE-RESTORE.md §2.4 -- restore to the original location (``documentAction``
# Overwrite|Keep), ``copyTo`` another OneDrive (folder variants v6+, document variants v8 only), save as
# a ZIP or, for one document with ``asZip: false``, the file itself; v2-v5 ``…/Action`` (§2.8).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from vb365_sim.browse.onedrive import _document, _drive, _folder
from vb365_sim.contents import SessionView
from vb365_sim.contents.onedrive import Drive
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

DRIVE = "Organization/OneDrives/{oneDriveId}"
ITEM_TYPE = "OneDriveItem"


def _selection(app: SimulatorApp, call: Call, data: Data, scope: str) -> tuple[SessionView, Drive, Selection]:
    view = view_of(app, call, "Veod")
    od = view.org.onedrive
    drive = _drive(view, call)
    tree = od.tree(drive.slot)

    def doc_id(k: int, slot: int) -> str:
        return od.document_id(drive.slot, k, slot)

    if scope == "documents":
        picks = [_document(od, view, drive, raw) for raw in ids_of(data, "documents")]
        return view, drive, documents.docs(tree, view, picks, doc_id, ITEM_TYPE)
    if scope == "document":
        picks = [_document(od, view, drive, call.params["documentId"])]
        return view, drive, documents.docs(tree, view, picks, doc_id, ITEM_TYPE)
    if scope == "folders":
        roots = [_folder(od, view, drive, raw) for raw in ids_of(data, "folders")]
    elif scope == "folder":
        roots = [_folder(od, view, drive, call.params["folderId"])]
    else:
        roots = [0]
    return view, drive, documents.folders(tree, view, roots, doc_id, ITEM_TYPE)


def _document_action(data: Data) -> str:
    value = field(data, "documentAction") or "Overwrite"
    if str(value).lower() not in ("overwrite", "keep"):
        raise bad_request(f"The value '{value}' is not valid for documentAction. Valid values: Overwrite, Keep.")
    return str(value).capitalize()


def _target_drive(view: SessionView, data: Data) -> Drive:
    """``copyTo``'s ``onedrive`` (a RESTOneDrive: matched by ``id``, ``url`` or ``name``).

    # Reference: BROWSE-RESTORE.md §6.2 -- ``copyTo`` without ``onedrive`` → 400. Inferred: a OneDrive
    # that is not the organization's is 400 too.
    """
    target = field(data, "onedrive", "oneDrive")
    if not isinstance(target, dict) or not target:
        raise bad_request("The target OneDrive is not specified.")
    od = view.org.onedrive
    wanted = {str(v).lower() for k, v in target.items() if k.lower() in ("id", "url", "name") and v}
    for slot in range(od.exchange.size.user_mailboxes):
        drive = od.drive(slot)
        if {drive.id.lower(), drive.url.lower(), drive.name.lower()} & wanted:
            return drive
    raise bad_request(f"The target OneDrive {target} was not found in the organization.")


def _restorer(scope: str, copy: bool) -> Action:
    def action(app: SimulatorApp, call: Call, data: Data) -> Response:
        view, drive, selection = _selection(app, call, data, scope)
        if copy:
            to = _target_drive(view, data)
            target = f"{to.url}{field(data, 'folder') or 'Restored'}"
        else:
            target = f"{drive.url} (original location, {_document_action(data)})"
        return restore(app, call, data, selection, kind=DOCUMENTS, title=f"OneDrive restore ({drive.name})",
                       target=target)

    action.__name__ = f"{'copy' if copy else 'restore'}_{scope}"
    return action


def _saver(scope: str) -> Action:
    return documents.saver(_selection, scope, "onedrive")


DOCS, DOC = DRIVE + "/Documents", DRIVE + "/Documents/{documentId}"
FOLDERS, FOLDER = DRIVE + "/Folders", DRIVE + "/Folders/{folderId}"

ROUTES = [
    post(DRIVE + "/restore", _restorer("drive", False)),
    post(FOLDERS + "/restore", _restorer("folders", False)),
    post(FOLDER + "/restore", _restorer("folder", False)),
    post(DOCS + "/restore", _restorer("documents", False)),
    post(DOC + "/restore", _restorer("document", False)),
    post(DRIVE + "/copyTo", _restorer("drive", True)),
    post(FOLDERS + "/copyTo", _restorer("folders", True)),
    post(FOLDER + "/copyTo", _restorer("folder", True)),
    post(DOCS + "/copyTo", _restorer("documents", True), first=8),
    post(DOC + "/copyTo", _restorer("document", True), first=8),
    post(DRIVE + "/save", _saver("drive")),
    post(FOLDERS + "/save", _saver("folders")),
    post(FOLDER + "/save", _saver("folder")),
    post(DOCS + "/save", _saver("documents")),
    post(DOC + "/save", _saver("document")),
    *(post(f"{base}/send", sender(_selection, scope)) for base, scope in
      ((DRIVE, "drive"), (FOLDERS, "folders"), (FOLDER, "folder"), (DOCS, "documents"), (DOC, "document"))),
    # v2-v5: one …/Action per object (BROWSE-RESTORE.md §2.8).
    verbs(DOCS, {"restoretoOriginallocation": _restorer("documents", False), "save": _saver("documents"),
                 "copyTo": _restorer("documents", True),
                  "send": sender(_selection, "documents")}, first=2),
    verbs(DOC, {"restoretoOriginallocation": _restorer("document", False), "save": _saver("document"),
                "copyTo": _restorer("document", True),
                  "send": sender(_selection, "document")}, first=2),
    verbs(FOLDERS, {"restoretoOriginallocation": _restorer("folders", False), "save": _saver("folders"),
                    "copyTo": _restorer("folders", True),
                  "send": sender(_selection, "folders")}, first=2),
    verbs(FOLDER, {"restoretoOriginallocation": _restorer("folder", False), "save": _saver("folder"),
                   "copyTo": _restorer("folder", True),
                  "send": sender(_selection, "folder")}, first=2),
    verbs(DRIVE, {"restoretoOriginallocation": _restorer("drive", False), "save": _saver("drive"),
                  "copyTo": _restorer("drive", True),
                  "send": sender(_selection, "drive")}, first=2),
]
