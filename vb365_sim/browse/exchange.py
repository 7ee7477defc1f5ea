"""Exchange browse routes and shapes (session type ``Vex``).

# Reference: BROWSE-RESTORE.md §1.2 and vb365_rest_v6/v7/v8.json (ExchangeMailbox_*, ExchangeFolder_*,
# ExchangeItem_*): mailboxes, folders (``parentId``, ``name`` wildcards), items (v6 ``folderId``, v7+
# ``parentId``), searches with ``setId``. v8 adds ``mailboxId`` to folders and items; a Discussion item
# gains ``subject``, ``attachments`` and ``importance`` in v7. v1-v5 serve the same tree (§1.6) with the
# v6 shapes, capitalised segments and absolute links; their item list takes ``folderId``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from vb365_sim.browse import common
from vb365_sim.contents import SessionView
from vb365_sim.contents.exchange import Exchange, Mailbox, MailFolder, MailItem
from vb365_sim.contents.search import matcher

if TYPE_CHECKING:
    from vb365_sim.app import Call, SimulatorApp

MAILBOXES = "organization/mailboxes"
MAILBOX = MAILBOXES + "/{mailboxId}"


# --- shapes -----------------------------------------------------------------------------------------------


def mailbox_json(call: Call, box: Mailbox) -> dict[str, Any]:
    ids = {"mailboxId": box.id}
    return {
        "id": box.id, "name": box.name, "email": box.email, "isArchive": box.is_archive, "isPublic": box.is_public,
        "_links": {"self": common.link(call, MAILBOX, **ids),
                   "folders": common.href(call, common.path(call, MAILBOX + "/folders", **ids)
                                          + f"?parentId={common.top_word(call)}"),
                   "allfolders": common.link(call, MAILBOX + "/folders", **ids)},
        "_actions": {},
    }


def _items_param(call: Call) -> str:
    # Reference: BROWSE-RESTORE.md §4.3 -- the item list takes folderId up to v6, parentId from v7.
    return "folderId" if call.version <= 6 else "parentId"


def folder_json(call: Call, box: Mailbox, folder: MailFolder, parent: MailFolder | None) -> dict[str, Any]:
    ids = {"mailboxId": box.id, "folderId": folder.id}
    out: dict[str, Any] = {"id": folder.id, "name": folder.name, "type": folder.type, "category": folder.category,
                           "description": ""}
    if call.version >= 8:
        out["mailboxId"] = box.id
    links = {"self": common.link(call, MAILBOX + "/folders/{folderId}", **ids),
             "mailbox": common.link(call, MAILBOX, **ids)}
    if parent is not None:  # root folders have no parent link (the v5 portal finds roots that way)
        links["parent"] = common.link(call, MAILBOX + "/folders/{folderId}", mailboxId=box.id, folderId=parent.id)
    links["folders"] = common.href(call, common.path(call, MAILBOX + "/folders", **ids) + f"?parentId={folder.id}")
    links["items"] = common.href(call, common.path(call, MAILBOX + "/items",
                                                   **ids) + f"?{_items_param(call)}={folder.id}")
    out["_links"] = links
    out["_actions"] = {}
    return out


def item_json(call: Call, box: Mailbox, folder: MailFolder, item: MailItem) -> dict[str, Any]:
    fields = dict(item.fields)
    if item.item_class == "IPM.Post" and call.version < 7:
        for name in ("subject", "attachments", "importance"):  # Discussion items gained these in v7
            fields.pop(name, None)
    out: dict[str, Any] = {}
    if call.version >= 8:
        out["mailboxId"] = box.id
    out.update(common.dates(fields))
    out["itemClass"] = item.item_class
    out["id"] = item.id
    out["_links"] = {
        "self": common.link(call, MAILBOX + "/items/{itemId}", mailboxId=box.id, itemId=item.id),
        "parent": common.link(call, MAILBOX + "/folders/{folderId}", mailboxId=box.id, folderId=folder.id),
        "mailbox": common.link(call, MAILBOX, mailboxId=box.id),
    }
    out["_actions"] = {}
    return out


# --- lookups --------------------------------------------------------------------------------------------


def _mailbox(view: SessionView, call: Call) -> Mailbox:
    raw = call.params["mailboxId"]
    return common.existing(view.org.exchange.mailbox_by_id(raw, view.t), "Mailbox", raw)


def _folder(view: SessionView, box: Mailbox, folder_id: str) -> MailFolder:
    return common.existing(view.org.exchange.folder_by_id(box, folder_id, view.t), "Folder", folder_id)


def _parents(ex: Exchange, box: Mailbox) -> dict[int, MailFolder]:
    return {f.index: f for f in ex.folders(box.slot)}


def _items(ex: Exchange, view: SessionView, box: Mailbox, folder: MailFolder) -> tuple[int, Any]:
    window = ex.window(folder, view.t, view.show_deleted)
    return len(window), lambda off, lim: [(folder, ex.item(box, folder, s, window)) for s in window.slots(off, lim)]


# --- handlers -------------------------------------------------------------------------------------------


def mailboxes(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vex")
    ex = view.org.exchange
    offset, limit = common.paging(call)
    results = [mailbox_json(call, ex.mailbox(s)) for s in ex.mailbox_slots(view.t, offset, limit)]
    return common.list_page(app, call, common.path(call, MAILBOXES), results, offset=offset, limit=limit,
                            total=ex.mailbox_count(view.t))


def mailbox(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vex")
    return common.respond(mailbox_json(call, _mailbox(view, call)))


def folders(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vex")
    ex = view.org.exchange
    box = _mailbox(view, call)
    offset, limit = common.paging(call)
    everything = ex.folders_at(box.slot, view.t)
    parent = common.parent_arg(call)
    if parent == common.ALL:
        chosen = everything
    elif parent == common.ROOT:
        chosen = [f for f in everything if f.parent is None]
    else:
        index = _folder(view, box, parent).index
        chosen = [f for f in everything if f.parent == index]
    pattern = common.arg(call, "name")
    if pattern:
        # Reference: ExchangeFolder_Get ``name`` -- "you can use * and ? wildcard characters".
        chosen = [f for f in chosen if fnmatch.fnmatchcase(f.name.lower(), pattern.lower())]
    by_index = _parents(ex, box)
    results = [folder_json(call, box, f, by_index.get(f.parent) if f.parent is not None else None)
               for f in chosen[offset : offset + limit]]
    return common.list_page(app, call, common.path(call, MAILBOX + "/folders", mailboxId=box.id), results,
                            offset=offset,
                            limit=limit, total=len(chosen))


def folder(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vex")
    box = _mailbox(view, call)
    found = _folder(view, box, call.params["folderId"])
    parent = _parents(view.org.exchange, box).get(found.parent) if found.parent is not None else None
    return common.respond(folder_json(call, box, found, parent))


def items(app: SimulatorApp, call: Call) -> Response:
    """Items of a folder; with no folder, every item of the mailbox (slow, as documented).

    # Inferred: ``root`` ("top-level items of the mailbox") is empty -- items live in folders.
    """
    view = common.session_view(app, call, "Vex")
    ex = view.org.exchange
    box = _mailbox(view, call)
    offset, limit = common.paging(call)
    parent = common.parent_arg(call, _items_param(call))
    if parent == common.ROOT:
        chosen: list[MailFolder] = []
    elif parent == common.ALL:
        chosen = ex.folders_at(box.slot, view.t)
    else:
        chosen = [_folder(view, box, parent)]
    pairs, total = common.concat([_items(ex, view, box, f) for f in chosen], offset, limit)
    results = [item_json(call, box, f, item) for f, item in pairs]
    return common.list_page(app, call, common.path(call, MAILBOX + "/items", mailboxId=box.id), results, offset=offset,
                            limit=limit, total=total, scanned=total if parent == common.ALL else 0)


def item(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vex")
    box = _mailbox(view, call)
    raw = call.params["itemId"]
    found = common.existing(view.org.exchange.item_by_id(box, raw, view.t, view.show_deleted), "Item", raw)
    return common.respond(item_json(call, box, _parents(view.org.exchange, box)[found.folder], found))


# --- search ---------------------------------------------------------------------------------------------


def _matches(ex: Exchange, view: SessionView, boxes: list[Mailbox], only: MailFolder | None,
             query: str) -> Iterator[tuple[Mailbox, MailFolder, MailItem]]:
    match = matcher(query)
    for box in boxes:
        for f in [only] if only is not None else ex.folders_at(box.slot, view.t):
            window = ex.window(f, view.t, view.show_deleted)
            for s in window.slots(0, len(window)):
                found = ex.item(box, f, s, window)
                if match({**{k: str(v) for k, v in found.fields.items() if isinstance(v, str)},
                          "text": found.text()}):
                    yield box, f, found


def _search(app: SimulatorApp, call: Call, scope: str) -> Response:
    view = common.session_view(app, call, "Vex")
    ex = view.org.exchange
    query = str(common.body_field(common.body(call), "query") or "")
    offset, limit = common.paging(call)
    only = None
    if scope in ("mailboxes", "organization"):
        boxes = [ex.mailbox(s) for s in ex.mailbox_slots(view.t, 0, ex.mailbox_count(view.t))]
        page_path = common.path(call, MAILBOXES + "/search" if scope == "mailboxes" else "organization/searchExchange")
    else:
        boxes = [_mailbox(view, call)]
        page_path = common.path(call, MAILBOX + "/search", mailboxId=boxes[0].id)
        if scope == "folder":
            only = _folder(view, boxes[0], call.params["folderId"])
            page_path = common.path(call, MAILBOX + "/folders/{folderId}/search", mailboxId=boxes[0].id,
                                    folderId=only.id)
    return common.search_page(app, call, page_path, (view.session_id, page_path.split("/", 2)[2], query),
                              lambda: _matches(ex, view, boxes, only, query), lambda hit: item_json(call, *hit),
                              offset=offset, limit=limit)


ROUTES: list[common.BrowseRoute] = [
    *common.routes("GET", MAILBOXES, mailboxes),
    *common.routes("GET", MAILBOX, mailbox),
    *common.routes("GET", MAILBOX + "/folders", folders),
    *common.routes("GET", MAILBOX + "/folders/{folderId}", folder),
    *common.routes("GET", MAILBOX + "/items", items),
    *common.routes("GET", MAILBOX + "/items/{itemId}", item),
    *common.routes("POST", MAILBOXES + "/search", common.scoped(_search, "mailboxes"), first=6),
    *common.routes("POST", MAILBOX + "/search", common.scoped(_search, "mailbox"), first=6),
    *common.routes("POST", MAILBOX + "/folders/{folderId}/search", common.scoped(_search, "folder"), first=6),
    *common.routes("POST", "organization/searchExchange", common.scoped(_search, "organization"), first=6),
]
