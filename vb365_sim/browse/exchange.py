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

from vb365_sim.browse.common import (
    ALL, ROOT, BrowseRoute, arg, body, body_field, href, concat, dates, link, list_page, parent_arg, paging, path, respond,
    routes, search_page, session_view, top_word,
)
from vb365_sim.contents import SessionView
from vb365_sim.contents.exchange import Exchange, MailFolder, MailItem, Mailbox
from vb365_sim.contents.search import matcher
from vb365_sim.state import not_found

if TYPE_CHECKING:
    from vb365_sim.app import Call, SimulatorApp

MAILBOXES = "organization/mailboxes"
MAILBOX = MAILBOXES + "/{mailboxId}"


# --- shapes -----------------------------------------------------------------------------------------------


def mailbox_json(call: Call, box: Mailbox) -> dict[str, Any]:
    ids = {"mailboxId": box.id}
    return {
        "id": box.id, "name": box.name, "email": box.email, "isArchive": box.is_archive, "isPublic": box.is_public,
        "_links": {"self": link(call, MAILBOX, **ids),
                   "folders": href(call, path(call, MAILBOX + "/folders", **ids) + f"?parentId={top_word(call)}"),
                   "allfolders": link(call, MAILBOX + "/folders", **ids)},
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
    links = {"self": link(call, MAILBOX + "/folders/{folderId}", **ids), "mailbox": link(call, MAILBOX, **ids)}
    if parent is not None:  # root folders have no parent link (the v5 portal finds roots that way)
        links["parent"] = link(call, MAILBOX + "/folders/{folderId}", mailboxId=box.id, folderId=parent.id)
    links["folders"] = href(call, path(call, MAILBOX + "/folders", **ids) + f"?parentId={folder.id}")
    links["items"] = href(call, path(call, MAILBOX + "/items", **ids) + f"?{_items_param(call)}={folder.id}")
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
    out.update(dates(fields))
    out["itemClass"] = item.item_class
    out["id"] = item.id
    out["_links"] = {
        "self": link(call, MAILBOX + "/items/{itemId}", mailboxId=box.id, itemId=item.id),
        "parent": link(call, MAILBOX + "/folders/{folderId}", mailboxId=box.id, folderId=folder.id),
        "mailbox": link(call, MAILBOX, mailboxId=box.id),
    }
    out["_actions"] = {}
    return out


# --- lookups --------------------------------------------------------------------------------------------


def _mailbox(view: SessionView, call: Call) -> Mailbox:
    box = view.org.exchange.mailbox_by_id(call.params["mailboxId"], view.t)
    if box is None:
        raise not_found(f"Mailbox with ID {call.params['mailboxId']} was not found.")
    return box


def _folder(view: SessionView, box: Mailbox, folder_id: str) -> MailFolder:
    folder = view.org.exchange.folder_by_id(box, folder_id, view.t)
    if folder is None:
        raise not_found(f"Folder with ID {folder_id} was not found.")
    return folder


def _parents(ex: Exchange, box: Mailbox) -> dict[int, MailFolder]:
    return {f.index: f for f in ex.folders(box.slot)}


def _items(ex: Exchange, view: SessionView, box: Mailbox, folder: MailFolder) -> tuple[int, Any]:
    window = ex.window(folder, view.t, view.show_deleted)
    return len(window), lambda off, lim: [(folder, ex.item(box, folder, s, window)) for s in window.slots(off, lim)]


# --- handlers -------------------------------------------------------------------------------------------


def mailboxes(app: SimulatorApp, call: Call) -> Response:
    view = session_view(app, call, "Vex")
    ex = view.org.exchange
    offset, limit = paging(call)
    results = [mailbox_json(call, ex.mailbox(s)) for s in ex.mailbox_slots(view.t, offset, limit)]
    return list_page(app, call, path(call, MAILBOXES), results, offset=offset, limit=limit,
                     total=ex.mailbox_count(view.t))


def mailbox(app: SimulatorApp, call: Call) -> Response:
    view = session_view(app, call, "Vex")
    return respond(mailbox_json(call, _mailbox(view, call)))


def folders(app: SimulatorApp, call: Call) -> Response:
    view = session_view(app, call, "Vex")
    ex = view.org.exchange
    box = _mailbox(view, call)
    offset, limit = paging(call)
    everything = ex.folders_at(box.slot, view.t)
    parent = parent_arg(call)
    if parent == ALL:
        chosen = everything
    elif parent == ROOT:
        chosen = [f for f in everything if f.parent is None]
    else:
        index = _folder(view, box, parent).index
        chosen = [f for f in everything if f.parent == index]
    pattern = arg(call, "name")
    if pattern:
        # Reference: ExchangeFolder_Get ``name`` -- "you can use * and ? wildcard characters".
        chosen = [f for f in chosen if fnmatch.fnmatchcase(f.name.lower(), pattern.lower())]
    by_index = _parents(ex, box)
    results = [folder_json(call, box, f, by_index.get(f.parent) if f.parent is not None else None)
               for f in chosen[offset : offset + limit]]
    return list_page(app, call, path(call, MAILBOX + "/folders", mailboxId=box.id), results, offset=offset,
                     limit=limit, total=len(chosen))


def folder(app: SimulatorApp, call: Call) -> Response:
    view = session_view(app, call, "Vex")
    box = _mailbox(view, call)
    found = _folder(view, box, call.params["folderId"])
    parent = _parents(view.org.exchange, box).get(found.parent) if found.parent is not None else None
    return respond(folder_json(call, box, found, parent))


def items(app: SimulatorApp, call: Call) -> Response:
    """Items of a folder; with no folder, every item of the mailbox (slow, as documented).

    # Inferred: ``root`` ("top-level items of the mailbox") is empty -- items live in folders.
    """
    view = session_view(app, call, "Vex")
    ex = view.org.exchange
    box = _mailbox(view, call)
    offset, limit = paging(call)
    parent = parent_arg(call, _items_param(call))
    if parent == ROOT:
        chosen: list[MailFolder] = []
    elif parent == ALL:
        chosen = ex.folders_at(box.slot, view.t)
    else:
        chosen = [_folder(view, box, parent)]
    pairs, total = concat([_items(ex, view, box, f) for f in chosen], offset, limit)
    results = [item_json(call, box, f, item) for f, item in pairs]
    return list_page(app, call, path(call, MAILBOX + "/items", mailboxId=box.id), results, offset=offset, limit=limit,
                     total=total, scanned=total if parent == ALL else 0)


def item(app: SimulatorApp, call: Call) -> Response:
    view = session_view(app, call, "Vex")
    box = _mailbox(view, call)
    found = view.org.exchange.item_by_id(box, call.params["itemId"], view.t, view.show_deleted)
    if found is None:
        raise not_found(f"Item with ID {call.params['itemId']} was not found.")
    return respond(item_json(call, box, _parents(view.org.exchange, box)[found.folder], found))


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
    view = session_view(app, call, "Vex")
    ex = view.org.exchange
    query = str(body_field(body(call), "query") or "")
    offset, limit = paging(call)
    only = None
    if scope in ("mailboxes", "organization"):
        boxes = [ex.mailbox(s) for s in ex.mailbox_slots(view.t, 0, ex.mailbox_count(view.t))]
        page_path = path(call, MAILBOXES + "/search" if scope == "mailboxes" else "organization/searchExchange")
    else:
        boxes = [_mailbox(view, call)]
        page_path = path(call, MAILBOX + "/search", mailboxId=boxes[0].id)
        if scope == "folder":
            only = _folder(view, boxes[0], call.params["folderId"])
            page_path = path(call, MAILBOX + "/folders/{folderId}/search", mailboxId=boxes[0].id, folderId=only.id)
    key = (view.session_id, page_path.split("/", 2)[2], query)
    set_id, result = app.state.contents.searches.open(key, arg(call, "setId"),
                                                      lambda: _matches(ex, view, boxes, only, query))
    found, more, total = result.page(offset, limit)
    results = [item_json(call, box, f, it) for box, f, it in found]
    return search_page(app, call, page_path, results, offset=offset, limit=limit, more=more, total=total,
                       set_id=set_id)


def search_all(app: SimulatorApp, call: Call) -> Response:
    return _search(app, call, "mailboxes")


def search_exchange(app: SimulatorApp, call: Call) -> Response:
    return _search(app, call, "organization")


def search_mailbox(app: SimulatorApp, call: Call) -> Response:
    return _search(app, call, "mailbox")


def search_folder(app: SimulatorApp, call: Call) -> Response:
    return _search(app, call, "folder")


ROUTES: list[BrowseRoute] = [
    *routes("GET", MAILBOXES, mailboxes),
    *routes("GET", MAILBOX, mailbox),
    *routes("GET", MAILBOX + "/folders", folders),
    *routes("GET", MAILBOX + "/folders/{folderId}", folder),
    *routes("GET", MAILBOX + "/items", items),
    *routes("GET", MAILBOX + "/items/{itemId}", item),
    *routes("POST", MAILBOXES + "/search", search_all, first=6),
    *routes("POST", MAILBOX + "/search", search_mailbox, first=6),
    *routes("POST", MAILBOX + "/folders/{folderId}/search", search_folder, first=6),
    *routes("POST", "organization/searchExchange", search_exchange, first=6),
]
