"""Browsing a working restore session's contents: who may, opaque node ids, the pages' cache and the audit.

- Who: whoever may see the session (selectors' visibility) may browse it, except auditors (they review who
  browsed, not what) and helpdesk in sessions they did not start; tenants browse the sessions their own users
  started. Outside visibility: 404; the role rules: 403.
- Node ids are signed (django.core.signing) and carry the session's upstream id: an id from another session,
  forged or malformed, is a 404.
- Contents at a point in time never change while the session lives, so every fetched page is cached in the
  shared cache under the session's cache generation; stopping the session bumps the generation (its pages are
  never served again and expire).
- The first time a person opens a given mailbox, drive, site or team in a session, one BROWSE_OPEN event.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core import signing
from django.core.cache import cache

from sessions_app import exceptions, selectors
from sessions_app.models import AuditAction, AuditEvent, RestoreSession, Role
from sessions_app.services import audit, restore_sessions
from sessions_app.upstream import client as upstream
from sessions_app.upstream.browse import BrowseUnsupported, SessionBrowser
from sessions_app.upstream.browse_types import BrowseEntryDTO, BrowsePageDTO, NodeRef

Actor = AbstractBaseUser | AnonymousUser

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_QUERY_CHARS = 200
OPERATION = "session.browse"
NODE_SALT = "sessions_app.browse.node"
CURSOR_SALT = "sessions_app.browse.cursor"
AUDITORS_MAY_NOT = "Auditors review who browsed a session; they may not browse its contents."
HELPDESK_OWN_ONLY = "Helpdesk browses the contents of the sessions they started (or started for someone)."
TENANT_OWN_ONLY = "You may browse the sessions your organization's own users started."
NO_SUCH_NODE = "No such entry in this session."
SESSION_STOPPED = "This restore session has stopped; its contents can no longer be browsed."
BAD_CURSOR = "This page link is not valid; start again from the first page."


class BrowseNotSupported(exceptions.PortalError):
    code = "browse_not_supported"


class BrowseBadCursor(exceptions.PortalError):
    code = "invalid_cursor"


@dataclass(frozen=True)
class BrowseEntry:
    """One entry as the portal shows it: `id` is the opaque node id to pass back."""

    id: str
    name: str
    kind: str
    has_children: bool
    size_bytes: int | None = None
    modified: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BrowseResult:
    """A page of entries; the cursors (opaque) ask for the next and previous pages, None at either end."""

    results: list[BrowseEntry]
    next_cursor: str | None
    previous_cursor: str | None


@dataclass(frozen=True)
class _Node:
    ref: NodeRef
    container_name: str


# -- who may browse -----------------------------------------------------------------------------------------------


def browse_session_for(*, actor: Actor, upstream_id: str) -> RestoreSession:
    """The session if `actor` may browse it. NotVisible (404) outside visibility; NotAllowed (403) for
    auditors, helpdesk in others' sessions and tenants in the provider's."""
    session = restore_sessions.restore_session_for_viewer(actor=actor, upstream_id=upstream_id)
    refused = _browse_refusal(actor=actor, session=session)
    if refused is not None:
        raise refused
    return session


def browse_allowed(*, actor: Actor, session: RestoreSession) -> bool:
    """For pages: may `actor`, who sees `session` (the page looked it up), browse it now? No query."""
    return session.is_working and _browse_refusal(actor=actor, session=session) is None


def _browse_refusal(*, actor: Actor, session: RestoreSession) -> exceptions.NotAllowed | None:
    """The role's refusal to browse a session the actor sees, or None when it may."""
    role = selectors.user_role(actor)
    refusal = exceptions.Refusal(operation=OPERATION, target=str(session.upstream_id),
                                 organization=session.organization, workload=session.workload,
                                 session_upstream_id=str(session.upstream_id))
    if role == Role.AUDITOR:
        return exceptions.NotAllowed(AUDITORS_MAY_NOT, refusal=_why(refusal, "auditors do not browse contents"))
    if role == Role.HELPDESK and actor.pk not in (session.requested_by_id, session.on_behalf_of_id):
        return exceptions.NotAllowed(HELPDESK_OWN_ONLY, refusal=_why(refusal, "helpdesk outside their sessions"))
    if role == Role.TENANT and not session.started_by_tenant:
        return exceptions.NotAllowed(TENANT_OWN_ONLY, refusal=_why(refusal, "tenant in a provider session"))
    return None


def _why(refusal: exceptions.Refusal, why: str) -> exceptions.Refusal:
    return replace(refusal, why=why)


# -- reading --------------------------------------------------------------------------------------------------------


def browse_children(*, actor: Actor, session: RestoreSession, node_id: str = "", cursor: str = "",
                    limit: int = DEFAULT_LIMIT, client: upstream.UpstreamClient | None = None,
                    client_address: str = "") -> BrowseResult:
    """The children of `node_id` (the session's top level when empty), one page."""
    node = _node_from(session, node_id)
    position = _cursor_from(cursor, node_id, query="")
    limit = _limit(limit)

    def fetch(browser: SessionBrowser) -> BrowsePageDTO:
        return browser.children(node.ref, offset=position["o"], limit=limit, phase_sizes=tuple(position["p"]))

    page, entries = _cached_page(session, "children", node, position["o"], limit, "", client, fetch)
    _first_open(actor=actor, session=session, node=node, client_address=client_address)
    return _result(node_id, page, entries, limit, query="")


def browse_search(*, actor: Actor, session: RestoreSession, node_id: str, query: str, cursor: str = "",
                  limit: int = DEFAULT_LIMIT, client: upstream.UpstreamClient | None = None,
                  client_address: str = "") -> BrowseResult:
    """Entries under `node_id` (a mailbox, drive, site, team or one of their folders) matching `query`."""
    query = query.strip()[:MAX_QUERY_CHARS]
    if not query:
        raise exceptions.PortalError("Give some text to search for.", extra={"fields": {"q": ["Required."]}})
    node = _node_from(session, node_id)
    if node.ref.kind == "top":
        raise BrowseNotSupported("Open a mailbox, drive, site or team to search within it.")
    position = _cursor_from(cursor, node_id, query=query)
    limit = _limit(limit)

    def fetch(browser: SessionBrowser) -> BrowsePageDTO:
        return browser.search(node.ref, query, offset=position["o"], limit=limit, phase_sizes=tuple(position["p"]),
                              set_ids=tuple(position["s"]))

    page, entries = _cached_page(session, "search", node, position["o"], limit, query, client, fetch)
    _first_open(actor=actor, session=session, node=node, client_address=client_address)
    return _result(node_id, page, entries, limit, query=query)


def browse_node(*, actor: Actor, session: RestoreSession, node_id: str,
                client: upstream.UpstreamClient | None = None, client_address: str = "") -> BrowseEntry:
    """One entry read again from VB365, with its full details (and its versions, for documents and files)."""
    node = _node_from(session, node_id)
    if node.ref.kind == "top":
        raise exceptions.NotVisible(NO_SUCH_NODE)

    def fetch(browser: SessionBrowser) -> BrowsePageDTO:
        entry = browser.node(node.ref)
        versions: list[dict[str, Any]] = []
        if entry.has_children and node.ref.kind in ("ddoc", "sdoc", "tfile", "sitm"):
            listed = browser.children(node.ref, offset=0, limit=MAX_LIMIT)
            versions = [{"name": each.name, "size_bytes": each.size_bytes, "modified": each.modified,
                         "modified_by": each.details.get("modified_by")}
                        for each in listed.entries if each.kind == "version"]
            if versions:
                entry = BrowseEntryDTO(entry.ref, entry.name, entry.has_children, entry.size_bytes, entry.modified,
                                       {**entry.details, "versions": versions})
        return BrowsePageDTO([entry], 0, None)

    _, entries = _cached_page(session, "node", node, 0, 1, "", client, fetch)
    _first_open(actor=actor, session=session, node=node, client_address=client_address)
    return entries[0]


def browse_cache_drop(*, session: RestoreSession) -> None:
    """Forget every cached page of `session` (called when it stops)."""
    key = _generation_key(session)
    cache.set(key, int(cache.get(key, 0)) + 1, timeout=settings.BROWSE_CACHE_SECONDS)


# -- node ids and cursors ---------------------------------------------------------------------------------------


def node_id_for(session: RestoreSession, ref: NodeRef, container_name: str = "") -> str:
    payload = {"s": str(session.upstream_id), "r": [ref.kind, *ref.ids], "n": container_name}
    # Unstamped: the same entry always has the same id (contents never change while the session lives).
    return signing.Signer(salt=NODE_SALT).sign_object(payload, compress=True)


def node_resolve(*, session: RestoreSession, node_id: str) -> tuple[NodeRef, str]:
    """The reference behind a node id of `session` and the name of its mailbox, drive, site or team (for
    restores.services.jobs). Raises NotVisible for the top level and for an id of another session, forged or
    malformed."""
    node = _node_from(session, node_id)
    if node.ref.kind == "top":
        raise exceptions.NotVisible(NO_SUCH_NODE)
    return node.ref, node.container_name


def _node_from(session: RestoreSession, node_id: str) -> _Node:
    if not node_id:
        return _Node(NodeRef("top"), "")
    try:
        payload = signing.Signer(salt=NODE_SALT).unsign_object(node_id)
        if payload["s"] != str(session.upstream_id):
            raise ValueError("another session's node")
        kind, *ids = payload["r"]
        if kind == "top":
            raise ValueError("the top level has no id")
        return _Node(NodeRef(str(kind), tuple(ids)), str(payload.get("n") or ""))
    except (signing.BadSignature, ValueError, KeyError, TypeError, IndexError):
        refusal = exceptions.Refusal(operation=OPERATION, target=node_id[:100], organization=session.organization,
                                     workload=session.workload, session_upstream_id=str(session.upstream_id),
                                     why="node id not of this session")
        raise exceptions.NotVisible(NO_SUCH_NODE, refusal=refusal) from None


def _cursor_from(cursor: str, node_id: str, *, query: str) -> dict[str, Any]:
    if not cursor:
        return {"o": 0, "p": [], "s": []}
    try:
        position = signing.Signer(salt=CURSOR_SALT).unsign_object(cursor)
        if position["n"] != _digest(node_id, query) or not isinstance(position["o"], int) or position["o"] < 0:
            raise ValueError("cursor of another listing")
        if (not all(isinstance(size, int) for size in position["p"])
                or not all(isinstance(s, str) for s in position["s"])):
            raise ValueError("bad cursor")
        return dict(position)
    except (signing.BadSignature, ValueError, KeyError, TypeError):
        raise BrowseBadCursor(BAD_CURSOR, extra={"fields": {"cursor": [BAD_CURSOR]}}) from None


def _cursor(node_id: str, query: str, offset: int, page: BrowsePageDTO) -> str:
    payload = {"n": _digest(node_id, query), "o": offset, "p": list(page.phase_sizes), "s": list(page.set_ids)}
    return signing.Signer(salt=CURSOR_SALT).sign_object(payload, compress=True)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def _limit(limit: int) -> int:
    return max(1, min(int(limit), MAX_LIMIT))


# -- cache, audit, shaping ----------------------------------------------------------------------------------------


def _generation_key(session: RestoreSession) -> str:
    return f"browse:generation:{session.upstream_id}"


def _cached_page(session: RestoreSession, operation: str, node: _Node, offset: int, limit: int, query: str,
                 client: upstream.UpstreamClient | None, fetch: Any) -> tuple[BrowsePageDTO, list[BrowseEntry]]:
    if not session.is_working:
        raise exceptions.SessionStopped(SESSION_STOPPED)
    generation = int(cache.get(_generation_key(session), 0))
    ref = json.dumps([node.ref.kind, *node.ref.ids])
    key = f"browse:page:{session.upstream_id}:{generation}:{_digest(operation, ref, str(offset), str(limit), query)}"
    cached = cache.get(key)
    if isinstance(cached, tuple) and len(cached) == 2 and isinstance(cached[0], BrowsePageDTO):
        return cached
    try:
        browser = SessionBrowser(client or upstream.get_client(), str(session.upstream_id), session.workload)
        page = fetch(browser)
    except BrowseUnsupported as exc:
        raise BrowseNotSupported(exc.message) from None
    # The entries are kept as shown (their signed ids made once): a second visit only reads the cache.
    shaped = (page, [_entry(session, node, each) for each in page.entries])
    cache.set(key, shaped, timeout=settings.BROWSE_CACHE_SECONDS)
    return shaped


def _first_open(*, actor: Actor, session: RestoreSession, node: _Node, client_address: str) -> None:
    container = node.ref.container
    if container is None:
        return
    container_kind, container_id = container
    marker = f"browse:opened:{session.upstream_id}:{actor.pk}:{_digest(container_kind, container_id)}"
    if not cache.add(marker, 1, timeout=settings.BROWSE_CACHE_SECONDS):
        return
    already = AuditEvent.objects.filter(action=AuditAction.BROWSE_OPEN, actor_id=actor.pk,
                                        session_upstream_id=str(session.upstream_id),
                                        details__container_id=container_id).exists()
    if already:
        return
    audit.audit_event_record(
        action=AuditAction.BROWSE_OPEN, actor=actor, organization=session.organization, workload=session.workload,
        session_upstream_id=str(session.upstream_id), client_address=client_address,
        details={"container": container_kind, "container_id": container_id, "name": node.container_name},
    )


def _result(node_id: str, page: BrowsePageDTO, entries: list[BrowseEntry], limit: int, *, query: str) -> BrowseResult:
    next_cursor = _cursor(node_id, query, page.next_offset, page) if page.next_offset is not None else None
    previous_cursor = None
    if page.offset > 0:
        previous = max(0, page.offset - limit)
        previous_cursor = _cursor(node_id, query, previous, page)
    return BrowseResult(entries, next_cursor, previous_cursor)


def _entry(session: RestoreSession, parent: _Node, entry: BrowseEntryDTO) -> BrowseEntry:
    container_name = parent.container_name
    if entry.ref.kind in ("mbx", "drv", "site", "team") and entry.ref.container != parent.ref.container:
        container_name = entry.name
    return BrowseEntry(id=node_id_for(session, entry.ref, container_name), name=entry.name, kind=entry.kind,
                       has_children=entry.has_children, size_bytes=entry.size_bytes, modified=entry.modified,
                       details=entry.details)
