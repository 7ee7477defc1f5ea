"""Exchange restores and downloads (session type ``Vex``).

# Reference: BROWSE-RESTORE.md §2.3 (v6-v8 paths and bodies) and §2.8 (v2-v5 ``…/Action`` verbs):
# restore / restoreTo of items, folders and mailboxes; save as MSG; export to PST (a ZIP of PSTs over
# ``pstSizeLimitBytes``; ``Range`` on the mailbox export from v7).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from vb365_sim.browse.exchange import _folder, _mailbox
from vb365_sim.contents import SessionView
from vb365_sim.contents.exchange import ITEM_ID_LENGTH, Mailbox, MailFolder
from vb365_sim.contents.ids import Kind, Position
from vb365_sim.restore import common, containers
from vb365_sim.restore.desk import GIB, Entry, Selection
from vb365_sim.state import SimError, bad_request, not_found

if TYPE_CHECKING:
    from vb365_sim.app import Call, SimulatorApp

BOX = "organization/mailboxes/{mailboxId}"
# Reference: BROWSE-RESTORE.md §2.7 -- "64-bit version of Microsoft Outlook…" (VR's text for the 500).
NO_OUTLOOK = ("Failed to export data to a PST file: a 64-bit version of Microsoft Outlook 2016, Microsoft Outlook "
              "2013 or Microsoft Outlook 2010 must be installed on the computer running restore sessions.")
PST_OVERHEAD = 256 * 1024
MAX_PST_LIMIT = 49 * GIB


def mail_size(item_id: str) -> int:
    """Bytes an item takes in an MSG or a PST: 2 KB to ~1 MB, mostly small.

    # Inferred: item sizes are not part of the browse shapes, so they are drawn from the item id.
    """
    u = int.from_bytes(hashlib.blake2b(item_id.encode(), digest_size=4, person=b"mailsize").digest(), "little")
    return int(2 ** (11 + 9 * (u / 2**32) ** 2))


def _item_entry(view: SessionView, box: Mailbox, folder: MailFolder, slot: int, *, full: bool) -> Entry:
    ex = view.org.exchange
    iid = ex.codec.ews(Position(Kind.MAIL_ITEM, box.slot, folder.index, 0, slot), ITEM_ID_LENGTH)
    if full:
        item = ex.item(box, folder, slot, ex.window(folder, view.t, view.show_deleted))
        f = item.fields
        name = str(f.get("subject") or f.get("name") or f.get("fullName") or item.item_class)
    else:  # a whole folder: naming every item would cost a full item each
        name = f"{folder.name} item {slot + 1}"
    # Inferred: v8 RESTRestoreItemType has no mail item type; mail items are reported as ExchangeMailbox.
    return Entry(iid, name, "ExchangeMailbox", mail_size(iid), f"{box.email}/{folder.name}")


def _items(view: SessionView, call: Call, box: Mailbox, ids: list[str]) -> Selection:
    ex = view.org.exchange
    out = []
    for raw in ids:
        item = ex.item_by_id(box, raw, view.t, view.show_deleted)
        if item is None:
            raise not_found(f"Item with ID {raw} was not found.")
        folder = next(f for f in ex.folders(box.slot) if f.index == item.folder)
        out.append(_item_entry(view, box, folder, item.slot, full=True))
    return Selection.of(out)


def _folder_items(view: SessionView, box: Mailbox, folder: MailFolder) -> Selection:
    window = view.org.exchange.window(folder, view.t, view.show_deleted)
    return Selection(len(window), lambda i: _item_entry(view, box, folder, window.slot(i), full=False))


def _mailbox_items(view: SessionView, box: Mailbox) -> Selection:
    folders = view.org.exchange.folders_at(box.slot, view.t)
    return Selection.chain([_folder_items(view, box, f) for f in folders])


def _selection(app: SimulatorApp, call: Call, data: common.Data, scope: str) -> tuple[SessionView, Mailbox, Selection]:
    """What a call selects: ``items[]`` or the path's item, folder or mailbox."""
    view = common.view_of(app, call, "Vex")
    box = _mailbox(view, call)
    if scope == "items":
        return view, box, _items(view, call, box, common.ids_of(data, "items"))
    if scope == "item":
        return view, box, _items(view, call, box, [call.params["itemId"]])
    if scope == "folder":
        return view, box, _folder_items(view, box, _folder(view, box, call.params["folderId"]))
    return view, box, _mailbox_items(view, box)


def _target_mailbox(view: SessionView, data: common.Data) -> str:
    """``restoreTo``'s ``mailbox`` (an e-mail address of the organization).

    # Reference: BROWSE-RESTORE.md §6.2 -- ``restoreTo`` without ``mailbox`` → 400. Inferred: an address
    # that is no mailbox of the organization is 400 too (a 404 on a session path reads "session ended").
    """
    target = common.field(data, "mailbox")
    if not target:
        raise bad_request("The target mailbox is not specified.")
    ex = view.org.exchange
    for slot in range(ex.slots):
        if ex.mailbox(slot).email.lower() == str(target).lower() and not ex.mailbox(slot).is_archive:
            return str(target)
    raise bad_request(f"Mailbox '{target}' was not found in the organization.")


def _restorer(scope: str, to: bool) -> common.Action:
    kind = common.EXCHANGE_ITEMS if scope in ("items", "item") else common.EXCHANGE_FOLDERS

    def action(app: SimulatorApp, call: Call, data: common.Data) -> Response:
        view, box, selection = _selection(app, call, data, scope)
        if to:
            # Inferred: VR's defaults (BROWSE-RESTORE.md §2.3) when the body names no folder.
            target = f"{_target_mailbox(view, data)}/{common.field(data, 'folder') or 'Restored-items'}"
        else:
            target = f"{box.email} (original location)"
        title = f"Exchange restore ({box.name})"
        return common.restore(app, call, data, selection, kind=kind, title=title, target=target)

    return common.named(action, f"restore_{scope}{'_to' if to else ''}")


def _save(scope: str) -> common.Action:
    def action(app: SimulatorApp, call: Call, data: common.Data) -> Response:
        """MSG files: one item as itself; several as a ZIP of MSGs.

        # Inferred: BROWSE-RESTORE.md §7 leaves multi-item MSG saves open; a ZIP is what OneDrive does.
        """
        _, _, selection = _selection(app, call, data, scope)
        blobs = [containers.msg(f"{_file_name(e.name)}.msg", e.size, e.id) for e in selection]
        return containers.download(blobs, knobs=common.desk(app).knobs, as_zip=len(blobs) > 1)

    return common.named(action, f"save_{scope}")


def _file_name(text: str) -> str:
    cleaned = "".join("_" if c in '\\/:*?"<>|' else c for c in text).strip() or "item"
    return cleaned[:80]


def _pst_limit(data: common.Data, knobs_min: int) -> int | None:
    if not common.flag(data, "enablePstSizeLimit"):
        return None
    raw = common.field(data, "pstSizeLimitBytes")
    if not isinstance(raw, int) or isinstance(raw, bool) or not knobs_min <= raw <= MAX_PST_LIMIT:
        raise bad_request(f"pstSizeLimitBytes must be between {knobs_min} and {MAX_PST_LIMIT} bytes.")
    return raw


def _export(scope: str) -> common.Action:
    def action(app: SimulatorApp, call: Call, data: common.Data) -> Response:
        """A PST, or a ZIP of PSTs of at most ``pstSizeLimitBytes`` each.

        # Inferred: part names ``<name>.pst``, ``<name>_2.pst``, …; ``Range`` is honoured on a single
        # PST only (a split export answers the whole ZIP, 200).
        """
        knobs = common.desk(app).knobs
        _, box, selection = _selection(app, call, data, scope)
        if not knobs.outlook_installed:
            raise SimError(500, NO_OUTLOOK)
        limit = _pst_limit(data, knobs.min_pst_limit_bytes)
        total = PST_OVERHEAD + sum(e.size for e in selection)
        base = _file_name(box.name)
        seed = f"{call.params['restoreSessionId']}/{box.id}/{scope}/{selection.count}/{total}"
        if limit is None or total <= limit:
            blob = containers.pst(f"{base}.pst", total, seed)
            if scope == "mailbox" and call.version >= 7:
                return containers.ranged(call, blob, knobs)
            return containers.download([blob], knobs=knobs, as_zip=False)
        parts = -(-total // limit)
        blobs = [containers.pst(f"{base}.pst" if i == 0 else f"{base}_{i + 1}.pst",
                                limit if i < parts - 1 else total - limit * (parts - 1), f"{seed}/{i}")
                 for i in range(parts)]
        return containers.download(blobs, knobs=knobs, as_zip=True)

    return common.named(action, f"export_{scope}")


ITEMS, ITEM, FOLDER = BOX + "/items", BOX + "/items/{itemId}", BOX + "/folders/{folderId}"

ROUTES = [
    common.post(ITEMS + "/restore", _restorer("items", False)),
    common.post(ITEMS + "/restoreTo", _restorer("items", True)),
    common.post(ITEM + "/restore", _restorer("item", False)),
    common.post(ITEM + "/restoreTo", _restorer("item", True)),
    common.post(FOLDER + "/restore", _restorer("folder", False)),
    common.post(FOLDER + "/restoreTo", _restorer("folder", True)),
    common.post(BOX + "/restore", _restorer("mailbox", False)),
    common.post(BOX + "/restoreTo", _restorer("mailbox", True)),
    common.post(ITEMS + "/Save", _save("items")),
    common.post(ITEM + "/save", _save("item")),
    common.post(ITEMS + "/exportToPst", _export("items")),
    common.post(ITEM + "/exportToPst", _export("item")),
    common.post(FOLDER + "/exportToPst", _export("folder")),
    common.post(BOX + "/exportToPst", _export("mailbox")),
    common.post(ITEMS + "/sendToDefaultAddress", common.sender(_selection, "items", needs_to=False)),
    common.post(ITEMS + "/sendToDifferentAddress", common.sender(_selection, "items")),
    common.post(ITEM + "/sendToDefaultAddress", common.sender(_selection, "item", needs_to=False)),
    common.post(ITEM + "/sendToDifferentAddress", common.sender(_selection, "item")),
    # v2-v5: one …/Action per object (BROWSE-RESTORE.md §2.8).
    common.verbs(ITEMS, {"restoretoOriginallocation": _restorer("items", False), "restoreTo": _restorer("items", True),
                         "savetoMsg": _save("items"), "exportToPst": _export("items"),
                         "sendtoDefaultAddress": common.sender(_selection, "items", needs_to=False),
                         "sendtoDifferentAddress": common.sender(_selection, "items")}, first=2),
    common.verbs(ITEM, {"restoretoOriginallocation": _restorer("item", False), "restoreTo": _restorer("item", True),
                        "savetoMsg": _save("item"), "exportToPst": _export("item"),
                        "sendtoDefaultAddress": common.sender(_selection, "item", needs_to=False),
                        "sendtoDifferentAddress": common.sender(_selection, "item")}, first=2),
    *(common.verbs(base, {"restoretoOriginallocation": _restorer(scope, False), "restoreTo": _restorer(scope, True),
                          "exportToPst": _export(scope)}, first=2)
      for base, scope in ((FOLDER, "folder"), (BOX, "mailbox"))),
]
