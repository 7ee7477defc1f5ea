"""SharePoint browse routes and shapes (session type ``Vesp``, from v2).

# Reference: BROWSE-RESTORE.md §1.4 and vb365_rest_v6/v7/v8.json (SharePointSite_*, _Library_*, _List_*,
# _Folder_*, _Document_*, _Item_*, _Attachment_*): sites (``parentId``: a site → its subsites, ``root`` →
# top-level sites, absent → all, slow), libraries, lists, folders (``parentId`` a list, library or folder id;
# absent → every folder of the site), documents and items (``parentId``; v7+ ``includeFolders``), previous
# versions, item attachments, searches. v8 adds ``siteId`` (and ``itemId`` on attachments).
# Inferred: for documents and items, ``parentId`` may also be a library or list id (its top level), and
# ``root`` means the top level of every library (documents) or list (items) of the site.
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
    search_args,
    tree_hits,
    version_arg,
    visible_doc,
)
from vb365_sim.contents import SessionView
from vb365_sim.contents.ids import Kind
from vb365_sim.contents.search import matcher
from vb365_sim.contents.sharepoint import Container, SharePoint, Site
from vb365_sim.state import iso_z, not_found

if TYPE_CHECKING:
    from vb365_sim.app import Call, SimulatorApp

SITES = "Organization/Sites"
SITE = SITES + "/{siteId}"
_OBJECTS = {"Documents": (Kind.SP_DOCUMENT, "Document", False), "Items": (Kind.SP_ITEM, "Item", True)}


# --- shapes -----------------------------------------------------------------------------------------------


def site_json(call: Call, site: Site) -> dict[str, Any]:
    ids = {"siteId": site.id}
    return {"id": site.id, "name": site.name, "url": site.url,
            "_links": {"self": common.link(call, SITE, **ids),
                       "libraries": common.link(call, SITE + "/Libraries", **ids),
                       "lists": common.link(call, SITE + "/Lists", **ids),
                       "subsites": common.href(call, common.path(call, SITES) + f"?parentId={site.id}")}}


def container_json(call: Call, c: Container) -> dict[str, Any]:
    segment = "Lists" if c.is_list else "Libraries"
    out: dict[str, Any] = {"id": c.id, "name": c.name, "url": c.url, "description": c.description,
                           "creationTime": iso_z(c.created_us)}
    if call.version >= 8:
        out["siteId"] = c.site.id
    out["_links"] = {"self": common.link(call, SITE + f"/{segment}/{{id}}", siteId=c.site.id, id=c.id),
                     "site": common.link(call, SITE, siteId=c.site.id),
                     "folders": common.href(call, common.path(call, SITE + "/Folders", siteId=c.site.id)
                                            + f"?parentId={c.id}")}
    return out


def entry_json(call: Call, sp: SharePoint, view: SessionView, c: Container, k: int, slot: int | None,
               n: int | None = None) -> dict[str, Any]:
    """A folder (``slot`` None), document or list item of container ``c``, at version ``n`` if given."""
    tree, site = c.tree, c.site
    out: dict[str, Any] = {"siteId": site.id} if call.version >= 8 else {}
    parent = tree.parent(k) if slot is None else k
    links: dict[str, dict[str, str]] = {}
    if slot is None:
        oid = sp.folder_id(c, k)
        out["type"] = "ListFolder" if c.is_list else "LibraryFolder"
        out.update(folder_fields(call, tree, tree.folder(k), None))
        segment = "Folders"
    else:
        assert view.t is not None
        doc = tree.doc(k, slot, view.t, tree.window(k, view.t, view.show_deleted))
        oid = sp.object_id(c, k, slot)
        fields = doc_fields(call, tree, doc, None, n)
        segment = "Items" if c.is_list else "Documents"
        if c.is_list:
            fields.pop("sizeBytes")
            out["title"] = doc.name
            fields["name"] = f"{slot + 1}_.000"  # list items are named by their number, as SharePoint does
            links["attachments"] = common.link(call, SITE + "/Items/{id}/Attachments", siteId=site.id, id=oid)
        out.update(fields)
    out["id"] = oid
    ids = {"siteId": site.id, "id": oid}
    self_path = common.path(call, SITE + f"/{segment}/{{id}}", **ids)
    if n is not None:
        self_path += f"/Versions/{512 * n}"
    links["self"] = common.href(call, self_path)
    if parent:
        links["parent"] = common.link(call, SITE + "/Folders/{id}", siteId=site.id, id=sp.folder_id(c, parent))
    else:
        links["parent"] = common.link(call, SITE + ("/Lists/{id}" if c.is_list else "/Libraries/{id}"), siteId=site.id,
                                      id=c.id)
    links["versions"] = common.link(call, SITE + f"/{segment}/{{id}}/Versions", **ids)
    out["_links"] = links
    return out


# --- lookups --------------------------------------------------------------------------------------------


def _site(view: SessionView, call: Call) -> Site:
    raw = call.params["siteId"]
    return common.existing(view.org.sharepoint.site_by_id(raw, view.t), "Site", raw)


def _container(view: SessionView, site: Site, raw: str, *, is_list: bool | None) -> Container:
    kind = "List" if is_list else "Library" if is_list is False else "Object"
    return common.existing(view.org.sharepoint.container_by_id(site, raw, is_list=is_list), kind, raw)


def _folder(view: SessionView, site: Site, raw: str) -> tuple[Container, int]:
    found = view.org.sharepoint.locate(site, raw, Kind.SP_FOLDER)
    if found is None or found[1] == 0 or not found[0].tree.folder_exists(found[1], view.t):
        raise not_found(f"Folder with ID {raw} was not found.")
    return found[0], found[1]


def _object(view: SessionView, site: Site, raw: str, kind: int, what: str) -> tuple[Container, int, int]:
    found = common.existing(view.org.sharepoint.locate(site, raw, kind), what, raw)
    visible_doc(found[0].tree, view, found[1], found[2], what, raw)
    return found


def _containers(view: SessionView, site: Site, is_list: bool | None) -> list[Container]:
    return [c for c in view.org.sharepoint.containers(site.top, site.sub) if is_list is None or c.is_list == is_list]


# --- sites, libraries, lists ----------------------------------------------------------------------------


def sites(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vesp")
    sp = view.org.sharepoint
    offset, limit = common.paging(call)
    parent = common.parent_arg(call)
    if parent == common.ROOT:
        chosen = sp.sites_at(view.t, top_only=True)
    elif parent == common.ALL:
        chosen = sp.sites_at(view.t)
    else:
        top = common.existing(sp.site_by_id(parent, view.t), "Site", parent)
        chosen = sp.sites_at(view.t, under=top.top) if top.sub == 0 else []
    results = [site_json(call, s) for s in chosen[offset : offset + limit]]
    return common.list_page(app, call, common.path(call, SITES), results, offset=offset, limit=limit, total=len(chosen),
                            scanned=len(chosen) if parent == common.ALL else 0)


def site(app: SimulatorApp, call: Call) -> Response:
    return common.respond(site_json(call, _site(common.session_view(app, call, "Vesp"), call)))


def _containers_page(app: SimulatorApp, call: Call, is_list: bool) -> Response:
    view = common.session_view(app, call, "Vesp")
    found = _site(view, call)
    offset, limit = common.paging(call)
    chosen = _containers(view, found, is_list)
    results = [container_json(call, c) for c in chosen[offset : offset + limit]]
    return common.list_page(app, call, common.path(call, SITE + ("/Lists" if is_list else "/Libraries"),
                                                   siteId=found.id), results,
                            offset=offset, limit=limit, total=len(chosen))


def libraries(app: SimulatorApp, call: Call) -> Response:
    return _containers_page(app, call, False)


def lists(app: SimulatorApp, call: Call) -> Response:
    return _containers_page(app, call, True)


def library(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vesp")
    return common.respond(container_json(call, _container(view, _site(view, call), call.params["libraryId"],
                                                          is_list=False)))


def list_(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vesp")
    return common.respond(container_json(call, _container(view, _site(view, call), call.params["listId"],
                                                          is_list=True)))


# --- folders, documents, items ---------------------------------------------------------------------------


def folders(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vesp")
    sp, found = view.org.sharepoint, _site(view, call)
    offset, limit = common.paging(call)
    parent = common.parent_arg(call)
    if parent == common.ALL:
        plan = [(c, folders_under(c.tree, view, None)) for c in _containers(view, found, None)]
    elif sp.locate(found, parent, Kind.SP_FOLDER) is not None:
        c, k = _folder(view, found, parent)
        plan = [(c, folders_under(c.tree, view, k))]
    else:
        c = _container(view, found, parent, is_list=None)
        plan = [(c, folders_under(c.tree, view, 0))]
    entries, total = page_entries([(c.tree, ks, []) for c, ks in plan], view, offset, limit)
    by_tree = {id(c.tree): c for c, _ in plan}
    results = [entry_json(call, sp, view, by_tree[id(tree)], k, None) for tree, k, _ in entries]
    return common.list_page(app, call, common.path(call, SITE + "/Folders", siteId=found.id), results, offset=offset,
                            limit=limit, total=total, scanned=total if parent == common.ALL else 0)


def _objects(app: SimulatorApp, call: Call, segment: str) -> Response:
    view = common.session_view(app, call, "Vesp")
    sp, found = view.org.sharepoint, _site(view, call)
    _, _, is_list = _OBJECTS[segment]
    offset, limit = common.paging(call)
    parent = common.parent_arg(call)
    with_folders = call.version >= 7 and common.bool_arg(call, "includeFolders")
    plan: list[tuple[Container, int | None]]
    if parent == common.ALL:
        plan = [(c, None) for c in _containers(view, found, is_list)]
    elif parent == common.ROOT:
        plan = [(c, 0) for c in _containers(view, found, is_list)]
    elif sp.locate(found, parent, Kind.SP_FOLDER) is not None:
        c, k = _folder(view, found, parent)
        plan = [(c, k)]
    else:
        plan = [(_container(view, found, parent, is_list=is_list), 0)]
    trees = [(c.tree, folders_under(c.tree, view, k) if with_folders else [],
              list(range(c.tree.folders)) if k is None else [k]) for c, k in plan]
    entries, total = page_entries(trees, view, offset, limit)
    by_tree = {id(c.tree): c for c, _ in plan}
    results = [entry_json(call, sp, view, by_tree[id(tree)], k, slot) for tree, k, slot in entries]
    return common.list_page(app, call, common.path(call, SITE + f"/{segment}", siteId=found.id), results, offset=offset,
                            limit=limit, total=total, scanned=total if parent == common.ALL else 0)


def documents(app: SimulatorApp, call: Call) -> Response:
    return _objects(app, call, "Documents")


def items(app: SimulatorApp, call: Call) -> Response:
    return _objects(app, call, "Items")


def folder(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vesp")
    c, k = _folder(view, _site(view, call), call.params["folderId"])
    return common.respond(entry_json(call, view.org.sharepoint, view, c, k, None))


def folder_versions(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vesp")
    found = _site(view, call)
    _folder(view, found, call.params["folderId"])
    offset, limit = common.paging(call)  # folders keep one version
    return common.list_page(app, call, common.path(call, SITE + "/Folders/{id}/Versions", siteId=found.id,
                                                   id=call.params["folderId"]), [], offset=offset, limit=limit, total=0)


def folder_version(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vesp")
    _folder(view, _site(view, call), call.params["folderId"])
    raise not_found(f"Version {call.params['versionId']} of folder {call.params['folderId']} was not found.")


def _one(segment: str, param: str) -> tuple[common.Handler, common.Handler, common.Handler]:
    """GET one document (item), its previous versions, and one version."""
    kind, what, _ = _OBJECTS[segment]

    def get(app: SimulatorApp, call: Call) -> Response:
        view = common.session_view(app, call, "Vesp")
        c, k, slot = _object(view, _site(view, call), call.params[param], kind, what)
        return common.respond(entry_json(call, view.org.sharepoint, view, c, k, slot))

    def versions(app: SimulatorApp, call: Call) -> Response:
        view = common.session_view(app, call, "Vesp")
        found = _site(view, call)
        c, k, slot = _object(view, found, call.params[param], kind, what)
        assert view.t is not None
        numbers = previous_versions(view, c.tree.doc(k, slot, view.t))
        offset, limit = common.paging(call)
        results = [entry_json(call, view.org.sharepoint, view, c, k, slot, n) for n in numbers[offset : offset + limit]]
        return common.list_page(app, call, common.path(call, SITE + f"/{segment}/{{id}}/Versions", siteId=found.id,
                                                       id=call.params[param]), results, offset=offset, limit=limit,
                                total=len(numbers))

    def version(app: SimulatorApp, call: Call) -> Response:
        view = common.session_view(app, call, "Vesp")
        c, k, slot = _object(view, _site(view, call), call.params[param], kind, what)
        assert view.t is not None
        doc = c.tree.doc(k, slot, view.t)
        n = version_arg(view, doc, call.params["versionId"], f"{what.lower()} {call.params[param]}")
        return common.respond(entry_json(call, view.org.sharepoint, view, c, k, slot, n if n < doc.version else None))

    return get, versions, version


def attachment_json(call: Call, sp: SharePoint, c: Container, k: int, slot: int, n: int, name: str,
                    size: int) -> dict[str, Any]:
    aid, item_id = sp.attachment_id(c, k, slot, n), sp.object_id(c, k, slot)
    out: dict[str, Any] = {"sizeBytes": size, "id": aid, "name": name,
                           "url": f"{c.url}/Attachments/{slot + 1}/{name}"}
    if call.version >= 8:
        out.update(siteId=c.site.id, itemId=item_id)
    out["_links"] = {"self": common.link(call, SITE + "/Items/{item}/Attachments/{id}", siteId=c.site.id, item=item_id,
                                         id=aid),
                     "item": common.link(call, SITE + "/Items/{id}", siteId=c.site.id, id=item_id)}
    return out


def attachments(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vesp")
    sp, found = view.org.sharepoint, _site(view, call)
    c, k, slot = _object(view, found, call.params["itemId"], Kind.SP_ITEM, "Item")
    offset, limit = common.paging(call)
    every = sp.attachments(c, k, slot)
    results = [attachment_json(call, sp, c, k, slot, n, name, size) for n, name, size in every[offset : offset + limit]]
    return common.list_page(app, call, common.path(call, SITE + "/Items/{id}/Attachments", siteId=found.id,
                                                   id=call.params["itemId"]),
                            results, offset=offset, limit=limit, total=len(every))


def attachment(app: SimulatorApp, call: Call) -> Response:
    view = common.session_view(app, call, "Vesp")
    sp, found = view.org.sharepoint, _site(view, call)
    c, k, slot = _object(view, found, call.params["itemId"], Kind.SP_ITEM, "Item")
    at = sp.locate(found, call.params["attachmentId"], Kind.SP_ATTACHMENT)
    every = {n: (name, size) for n, name, size in sp.attachments(c, k, slot)}
    if at is None or at[0] is not c or at[1] != k or at[2] // 4 != slot or at[2] % 4 not in every:
        raise not_found(f"Attachment with ID {call.params['attachmentId']} was not found.")
    name, size = every[at[2] % 4]
    return common.respond(attachment_json(call, sp, c, k, slot, at[2] % 4, name, size))


# --- search ---------------------------------------------------------------------------------------------


def _matches(view: SessionView, plan: list[tuple[Container, int | None]], query: str,
             item_type: str) -> Iterator[tuple[Container, int, int | None]]:
    match = matcher(query)
    for c, under in plan:
        for k, slot in tree_hits(view, c.tree, under, match, item_type):
            yield c, k, slot


def _search(app: SimulatorApp, call: Call, scope: str) -> Response:
    view = common.session_view(app, call, "Vesp")
    sp = view.org.sharepoint
    query, item_type, offset, limit = search_args(call)
    plan: list[tuple[Container, int | None]]
    if scope == "all":
        plan = [(c, None) for s in sp.sites_at(view.t) for c in sp.containers(s.top, s.sub)]
        page_path = common.path(call, SITES + "/search")
    else:
        found = _site(view, call)
        page_path = common.path(call, SITE + "/search", siteId=found.id)
        plan = [(c, None) for c in _containers(view, found, None)]
        if scope in ("Libraries", "Lists"):
            raw = call.params["libraryId" if scope == "Libraries" else "listId"]
            plan = [(_container(view, found, raw, is_list=scope == "Lists"), None)]
            page_path = common.path(call, SITE + f"/{scope}/{{id}}/search", siteId=found.id, id=raw)
        elif scope == "Folders":
            c, k = _folder(view, found, call.params["folderId"])
            plan = [(c, k)]
            page_path = common.path(call, SITE + "/Folders/{id}/search", siteId=found.id, id=call.params["folderId"])
    return common.search_page(app, call, page_path, (view.session_id, page_path.split("/", 2)[2], query, item_type),
                              lambda: _matches(view, plan, query, item_type),
                              lambda hit: entry_json(call, sp, view, *hit), offset=offset, limit=limit)


_DOC, _DOC_VERSIONS, _DOC_VERSION = _one("Documents", "documentId")
_ITEM, _ITEM_VERSIONS, _ITEM_VERSION = _one("Items", "itemId")
ROUTES: list[common.BrowseRoute] = [
    *common.routes("GET", SITES, sites, first=2),
    *common.routes("GET", SITE, site, first=2),
    *common.routes("GET", SITE + "/Libraries", libraries, first=2),
    *common.routes("GET", SITE + "/Libraries/{libraryId}", library, first=2),
    *common.routes("GET", SITE + "/Lists", lists, first=2),
    *common.routes("GET", SITE + "/Lists/{listId}", list_, first=2),
    *common.routes("GET", SITE + "/Folders", folders, first=2),
    *common.routes("GET", SITE + "/Folders/{folderId}", folder, first=2),
    *common.routes("GET", SITE + "/Folders/{folderId}/Versions", folder_versions, first=2),
    *common.routes("GET", SITE + "/Folders/{folderId}/Versions/{versionId}", folder_version, first=2),
    *common.routes("GET", SITE + "/Documents", documents, first=2),
    *common.routes("GET", SITE + "/Documents/{documentId}", _DOC, first=2),
    *common.routes("GET", SITE + "/Documents/{documentId}/Versions", _DOC_VERSIONS, first=2),
    *common.routes("GET", SITE + "/Documents/{documentId}/Versions/{versionId}", _DOC_VERSION, first=2),
    *common.routes("GET", SITE + "/Items", items, first=2),
    *common.routes("GET", SITE + "/Items/{itemId}", _ITEM, first=2),
    *common.routes("GET", SITE + "/Items/{itemId}/Versions", _ITEM_VERSIONS, first=2),
    *common.routes("GET", SITE + "/Items/{itemId}/Versions/{versionId}", _ITEM_VERSION, first=2),
    *common.routes("GET", SITE + "/Items/{itemId}/Attachments", attachments, first=2),
    *common.routes("GET", SITE + "/Items/{itemId}/Attachments/{attachmentId}", attachment, first=2),
    *common.routes("POST", SITES + "/search", common.scoped(_search, "all"), first=6),
    *common.routes("POST", SITE + "/search", common.scoped(_search, "site"), first=6),
    *common.routes("POST", SITE + "/Libraries/{libraryId}/search", common.scoped(_search, "Libraries"), first=6),
    *common.routes("POST", SITE + "/Lists/{listId}/search", common.scoped(_search, "Lists"), first=6),
    *common.routes("POST", SITE + "/Folders/{folderId}/search", common.scoped(_search, "Folders"), first=6),
]
