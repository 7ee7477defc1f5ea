"""OneDrive restores, copies and saves (session type ``Veod``).

# Reference: BROWSE-RESTORE.md §2.4 -- restore to the original location (``documentAction``
# Overwrite|Keep), ``copyTo`` another OneDrive (folder variants v6+, document variants v8 only), save as
# a ZIP or, for one document with ``asZip: false``, the file itself; v2-v5 ``…/Action`` (§2.8).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from vb365_sim.browse.onedrive import _document, _drive, _folder
from vb365_sim.contents import SessionView
from vb365_sim.contents.onedrive import Drive
from vb365_sim.restore import common, documents
from vb365_sim.restore.desk import Selection
from vb365_sim.state import bad_request

if TYPE_CHECKING:
    from vb365_sim.app import Call, SimulatorApp

DRIVE = "Organization/OneDrives/{oneDriveId}"
ITEM_TYPE = "OneDriveItem"


def _selection(app: SimulatorApp, call: Call, data: common.Data, scope: str) -> tuple[SessionView, Drive, Selection]:
    view = common.view_of(app, call, "Veod")
    od = view.org.onedrive
    drive = _drive(view, call)
    tree = od.tree(drive.slot)

    def doc_id(k: int, slot: int) -> str:
        return od.document_id(drive.slot, k, slot)

    if scope == "documents":
        picks = [_document(od, view, drive, raw) for raw in common.ids_of(data, "documents")]
        return view, drive, documents.docs(tree, view, picks, doc_id, ITEM_TYPE)
    if scope == "document":
        picks = [_document(od, view, drive, call.params["documentId"])]
        return view, drive, documents.docs(tree, view, picks, doc_id, ITEM_TYPE)
    if scope == "folders":
        roots = [_folder(od, view, drive, raw) for raw in common.ids_of(data, "folders")]
    elif scope == "folder":
        roots = [_folder(od, view, drive, call.params["folderId"])]
    else:
        roots = [0]
    return view, drive, documents.folders(tree, view, roots, doc_id, ITEM_TYPE)


def _document_action(data: common.Data) -> str:
    value = common.field(data, "documentAction") or "Overwrite"
    if str(value).lower() not in ("overwrite", "keep"):
        raise bad_request(f"The value '{value}' is not valid for documentAction. Valid values: Overwrite, Keep.")
    return str(value).capitalize()


def _target_drive(view: SessionView, data: common.Data) -> Drive:
    """``copyTo``'s ``onedrive`` (a RESTOneDrive: matched by ``id``, ``url`` or ``name``).

    # Reference: BROWSE-RESTORE.md §6.2 -- ``copyTo`` without ``onedrive`` → 400. Inferred: a OneDrive
    # that is not the organization's is 400 too.
    """
    target = common.field(data, "onedrive", "oneDrive")
    if not isinstance(target, dict) or not target:
        raise bad_request("The target OneDrive is not specified.")
    od = view.org.onedrive
    wanted = {str(v).lower() for k, v in target.items() if k.lower() in ("id", "url", "name") and v}
    for slot in range(od.exchange.size.user_mailboxes):
        drive = od.drive(slot)
        if {drive.id.lower(), drive.url.lower(), drive.name.lower()} & wanted:
            return drive
    raise bad_request(f"The target OneDrive {target} was not found in the organization.")


def _restorer(scope: str, copy: bool) -> common.Action:
    def action(app: SimulatorApp, call: Call, data: common.Data) -> Response:
        view, drive, selection = _selection(app, call, data, scope)
        if copy:
            to = _target_drive(view, data)
            target = f"{to.url}{common.field(data, 'folder') or 'Restored'}"
        else:
            target = f"{drive.url} (original location, {_document_action(data)})"
        return common.restore(app, call, data, selection, kind=common.DOCUMENTS,
                              title=f"OneDrive restore ({drive.name})", target=target)

    return common.named(action, f"{'copy' if copy else 'restore'}_{scope}")


_saver = partial(documents.saver, _selection, seed="onedrive")  # the save action of a scope

# Each path with the scope its operations select.
OBJECTS = ((DRIVE, "drive"), (DRIVE + "/Folders", "folders"), (DRIVE + "/Folders/{folderId}", "folder"),
           (DRIVE + "/Documents", "documents"), (DRIVE + "/Documents/{documentId}", "document"))

ROUTES = [
    *(common.post(f"{base}/restore", _restorer(scope, False)) for base, scope in OBJECTS),
    # Document copies are v8 only.
    *(common.post(f"{base}/copyTo", _restorer(scope, True), first=8 if scope.startswith("document") else 6)
      for base, scope in OBJECTS),
    *(common.post(f"{base}/save", _saver(scope)) for base, scope in OBJECTS),
    *(common.post(f"{base}/send", common.sender(_selection, scope)) for base, scope in OBJECTS),
    # v2-v5: one …/Action per object (BROWSE-RESTORE.md §2.8).
    *(common.verbs(base, {"restoretoOriginallocation": _restorer(scope, False), "save": _saver(scope),
                          "copyTo": _restorer(scope, True), "send": common.sender(_selection, scope)}, first=2)
      for base, scope in OBJECTS),
]
