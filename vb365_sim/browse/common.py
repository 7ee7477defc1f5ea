"""What every browse route shares: finding the session's view, query parameters, pages, cost, paths.

# Reference: BROWSE-RESTORE.md §1 -- the browse tree under ``/vN/RestoreSessions/{id}/organization/...``:
# offset/limit paging (default 30, at most 10,000), ``parentId`` (an id, ``root`` -- ``null`` up to v5 --
# or absent for the whole tree, documented as slow), ``totalCount`` in v6/v7 pages only, ``setId`` on
# search pages. Links follow the version's rule (absolute lower-case up to v5, relative from v6).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from vb365_sim.contents import SessionView
from vb365_sim.state import DEFAULT_LIMIT, MAX_LIMIT, TYPE_LABELS, bad_request, iso_z, not_found, parse_bool
from vb365_sim.wire_common import paging_links

if TYPE_CHECKING:
    from vb365_sim.app import Call, SimulatorApp

T = TypeVar("T")
Handler = Callable[["SimulatorApp", "Call"], Response]
BrowseRoute = tuple[str, str, range, Handler]
JSON_TYPE = "application/json; charset=utf-8"
SESSION = "/RestoreSessions/{restoreSessionId}/"
# Item fields holding dates (microseconds inside the simulator, ISO-8601 on the wire).
DATE_FIELDS = frozenset({"sent", "received", "startTime", "endTime", "startDate", "dueDate", "date", "postedOn"})


def routes(method: str, template: str, handler: Handler, first: int = 1, last: int = 8) -> list[BrowseRoute]:
    """The route in v6-v8 casing (``organization/mailboxes``) and, up to v5, with capitalised segments.

    # Reference: BROWSE-RESTORE.md §1.6 -- v1-v5 spell the tree ``Organization/Mailboxes/.../Folders``.
    """
    out: list[BrowseRoute] = []
    if first <= 5:
        out.append((method, SESSION + capitalised(template), range(first, min(last, 5) + 1), handler))
    if last >= 6:
        out.append((method, SESSION + template, range(max(first, 6), last + 1), handler))
    return out


def capitalised(template: str) -> str:
    return "/".join(s if s.startswith("{") or not s else s[0].upper() + s[1:] for s in template.split("/"))


def path(call: Call, template: str, **ids: str) -> str:
    """``/vN/RestoreSessions/<id>/<template with ids>``: contract casing from v6, lower case up to v5.

    # Reference: CONTRACT.md §1 -- v1-v5 links have a lower-cased path. Inferred: the route is lower-cased,
    # not the ids in it (mailbox folder and item ids are case-sensitive base64).
    """
    text = f"{call.ctx.prefix}/RestoreSessions/{call.params['restoreSessionId']}/{template}"
    text = text if call.version >= 6 else text.lower()
    for name, value in ids.items():
        text = text.replace("{" + name.lower() + "}" if call.version <= 5 else "{" + name + "}", value)
    return text


def href(call: Call, target: str) -> dict[str, str]:
    """A HAL link to a ``path()`` (plus query): absolute up to v5, relative from v6 (CONTRACT.md §1)."""
    return {"href": target if call.version >= 6 else f"{call.ctx.base_url.lower()}{target}"}


def link(call: Call, template: str, **ids: str) -> dict[str, str]:
    return href(call, path(call, template, **ids))


# --- the session ---------------------------------------------------------------------------------------


def existing(found: T | None, what: str, raw: str) -> T:
    """``found``, or 404 ResourceNotFound "``what`` with ID ``raw`` was not found." (every browse lookup's words)."""
    if found is None:
        raise not_found(f"{what} with ID {raw} was not found.")
    return found


def session_view(app: SimulatorApp, call: Call, session_type: str | None) -> SessionView:
    """The contents the caller's session browses.

    # Reference: BROWSE-RESTORE.md §6.2 -- a stopped session makes every browse path fail; the simulator
    # answers 404 ResourceNotFound (real v5 servers answered 500 "Restore session has expired").
    # Inferred: a path of another workload than the session's (a OneDrive path in an Exchange session) is
    # 404 too: the session has no such explorer.
    """
    rec = app.state.get_session(call.params["restoreSessionId"], call.who)
    if rec.state != "Working":
        raise not_found(f"Restore session with ID {rec.id} was not found or has been stopped.")
    if session_type is not None and rec.type != session_type:
        raise not_found(f"Restore session {rec.id} is a {TYPE_LABELS[rec.type]} session; "
                        f"it holds no {TYPE_LABELS[session_type]} data.")
    return app.state.session_view(rec)


# --- parameters ---------------------------------------------------------------------------------------
# (app.py reads its query parameters with these too; they live here so the browse routes need nothing from app.py.)


def arg(call: Call, name: str) -> str | None:
    for key, value in call.request.args.items(multi=True):
        if key.lower() == name.lower():
            return value
    return None


def paging(call: Call, *, blank_is_default: bool = True) -> tuple[int, int]:
    """``offset``/``limit`` as everywhere else (CONTRACT.md §1): default 30, larger than 10,000 clamped.

    With ``blank_is_default`` off an empty value (``?offset=``) is 400 like any other non-number, as the
    top-level lists of ``app.py`` have always answered.
    """
    values = []
    for name, default, minimum in (("offset", 0, 0), ("limit", DEFAULT_LIMIT, 1)):
        raw = arg(call, name)
        if raw is None or (raw == "" and blank_is_default):
            values.append(default)
            continue
        try:
            n = int(raw)
        except ValueError:
            raise bad_request(f"The value '{raw}' is not valid for {name}.") from None
        if n < minimum:
            raise bad_request(f"{name} must be greater than or equal to {minimum}.")
        values.append(n)
    return values[0], min(values[1], MAX_LIMIT)


def parsed_arg(call: Call, name: str, parse: Callable[[str], T]) -> T | None:
    """The parameter ``name`` read by ``parse``: None when absent or empty, 400 when ``parse`` refuses it."""
    raw = arg(call, name)
    if raw is None or raw == "":
        return None
    try:
        return parse(raw)
    except ValueError:
        raise bad_request(f"The value '{raw}' is not valid for {name}.") from None


def bool_arg(call: Call, name: str) -> bool:
    return parsed_arg(call, name, parse_bool) is True


ALL, ROOT = "*all*", "*root*"


def parent_arg(call: Call, name: str = "parentId") -> str:
    """``ALL`` (absent), ``ROOT`` or an id.

    # Reference: BROWSE-RESTORE.md §1.6 -- v1-v5 clients ask for the top level with the literal ``null``
    # (``folders?parentId=null``) where v6+ says ``root``. Inferred: each family understands only its own
    # word; the other one is taken as an id, which is then not found.
    """
    raw = arg(call, name)
    if raw is None or raw == "":
        return ALL
    return ROOT if raw.lower() == top_word(call) else raw


def top_word(call: Call) -> str:
    return "null" if call.version <= 5 else "root"


def body(call: Call) -> dict[str, Any]:
    raw = call.request.get_data(cache=True)
    try:
        data = json.loads(raw) if raw.strip() else None
    except ValueError:
        raise bad_request("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object with the search options.")
    return data


def body_field(data: dict[str, Any], name: str) -> Any:
    return next((v for k, v in data.items() if isinstance(k, str) and k.lower() == name.lower()), None)


# --- answers ------------------------------------------------------------------------------------------


def respond(data: Any) -> Response:
    return Response(json.dumps(data, separators=(",", ":")), status=200, content_type=JSON_TYPE)


def charge(app: SimulatorApp, items: int) -> None:
    """Big answers take time: ``--browse-item-latency-us`` per item produced or scanned (0 by default)."""
    cost = app.config.browse_item_latency_us * items
    if cost > 0:
        time.sleep(cost / 1_000_000)


def list_page(app: SimulatorApp, call: Call, page_path: str, results: list[dict[str, Any]], *, offset: int,
              limit: int, total: int, scanned: int = 0) -> Response:
    """A ``PageOf...`` answer; ``totalCount`` in v6/v7 only (BROWSE-RESTORE.md §0 item 7).

    ``scanned`` is what the server walked besides the page (the whole tree when ``parentId`` is absent).
    """
    charge(app, len(results) + scanned)
    data: dict[str, Any] = {"offset": offset, "limit": limit, "results": results,
                            "_links": page_links(call, page_path, call.ctx.query, offset, limit, total)}
    if call.version in (6, 7):
        data["totalCount"] = total
    return respond(data)


def page_links(call: Call, page_path: str, query: tuple[tuple[str, str], ...], offset: int, limit: int,
               total: int) -> dict[str, dict[str, str]]:
    """``first``, ``prev`` (if any), ``next`` (if any), ``self``, keeping the request's other parameters.

    ``wire_common.paging_links``, as for every other page, with the kept parameters encoded once: a page of
    a mail folder repeats a 120-character folder id in every link.
    """
    kept = urlencode([(k, v) for k, v in query if k.lower() not in ("offset", "limit")])
    base = f"{page_path}?{kept}&" if kept else f"{page_path}?"

    return paging_links(lambda off: href(call, f"{base}offset={off}&limit={limit}"), offset=offset, limit=limit,
                        total=total)


def search_page(app: SimulatorApp, call: Call, page_path: str, key: tuple[Any, ...], hits: Callable[[], Iterator[T]],
                shape: Callable[[T], dict[str, Any]], *, offset: int, limit: int) -> Response:
    """A page of the search ``key``: the set the request's ``setId`` names, or a new one that ``hits`` fills as
    pages are asked for; each hit answered through ``shape``. ``setId`` is in the answer and in its links, so
    following ``next`` pages the same set.

    # Inferred: ``totalCount`` (nullable) is null until the whole set has been scanned.
    """
    set_id, found = app.state.contents.searches.open(key, arg(call, "setId"), hits)
    page, more, total = found.page(offset, limit)
    results = [shape(hit) for hit in page]
    charge(app, len(results))
    kept = tuple((k, v) for k, v in call.ctx.query if k.lower() != "setid") + (("setId", set_id),)
    links = page_links(call, page_path, kept, offset, limit, offset + len(results) + int(more))
    out: dict[str, Any] = {"offset": offset, "limit": limit, "setId": set_id, "results": results, "_links": links}
    if call.version in (6, 7):
        out["totalCount"] = total
    return respond(out)


def scoped(handler: Callable[[SimulatorApp, Call, str], Response], scope: str) -> Handler:
    """``handler`` for one ``scope``: the routes of a search family differ only in what they search."""
    return lambda app, call: handler(app, call, scope)


def concat(parts: Sequence[tuple[int, Callable[[int, int], list[T]]]], offset: int, limit: int) -> tuple[list[T], int]:
    """A page of several sequences one after the other: ``parts`` are (length, fetch(offset, limit))."""
    total = sum(n for n, _ in parts)
    out: list[T] = []
    skip = offset
    for n, fetch in parts:
        if len(out) >= limit:
            break
        if skip >= n:
            skip -= n
            continue
        out.extend(fetch(skip, min(n - skip, limit - len(out))))
        skip = 0
    return out, total


def dates(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: iso_z(v) if k in DATE_FIELDS and isinstance(v, int) and not isinstance(v, bool) else v
            for k, v in fields.items()}


def version_label(n: int) -> str:
    return f"{n}.0"


def version_id(n: int) -> int:
    """SharePoint-style version ids: 512 per major version."""
    return 512 * n

