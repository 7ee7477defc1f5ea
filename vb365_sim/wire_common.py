"""Helpers shared by the per-family wire modules: the request context, links and paging wrappers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from vb365_sim.state import State


@dataclass(frozen=True)
class WireContext:
    """What a wire function needs to know about the request it answers."""

    version: int
    # scheme://host[:port] exactly as the client reached us (Host header, scheme actually served).
    base_url: str
    state: State
    now_us: int
    query: tuple[tuple[str, str], ...] = ()

    @property
    def prefix(self) -> str:
        return f"/v{self.version}"

    def href(self, path: str) -> dict[str, str]:
        """A HAL link to ``path`` (``/vN/...`` in contract casing).

        # Reference: CONTRACT.md §1 and §10 item 10 -- v1-v5 hrefs are absolute with host and port and a
        # lower-cased path; v6+ hrefs are server-relative and keep the casing.
        """
        if self.version <= 5:
            base, _, query = path.partition("?")
            return {"href": f"{self.base_url.lower()}{base.lower()}" + (f"?{query}" if query else "")}
        return {"href": path}


def page(
    ctx: WireContext, path: str, results: list[dict[str, Any]], *, offset: int, limit: int, total: int
) -> dict[str, Any]:
    """``{offset, limit, results, _links{first, prev?, next?, self}}`` (CONTRACT.md §1 Paging).

    ``prev`` appears only when there is an earlier page and ``next`` only when there are more results.
    Filters from the request are kept in the links; only ``offset``/``limit`` change.
    """
    kept = [(k, v) for k, v in ctx.query if k.lower() not in ("offset", "limit")]

    def at(off: int) -> dict[str, str]:
        return ctx.href(f"{path}?{urlencode(kept + [('offset', str(off)), ('limit', str(limit))])}")

    return {"offset": offset, "limit": limit, "results": results,
            "_links": paging_links(at, offset=offset, limit=limit, total=total)}


def paging_links(at: Callable[[int], dict[str, str]], *, offset: int, limit: int,
                 total: int) -> dict[str, dict[str, str]]:
    """``first``, ``prev`` (only when there is an earlier page), ``next`` (only when more results follow) and
    ``self``, each the link ``at`` makes for that page's offset."""
    links = {"first": at(0)}
    if offset > 0:
        links["prev"] = at(max(0, offset - limit))
    if offset + limit < total:
        links["next"] = at(offset + limit)
    links["self"] = at(offset)
    return links


def duration(us: int) -> str:
    """``hh:mm:ss`` as in event ``duration`` (CONTRACT.md §7)."""
    s = max(0, us) // 1_000_000
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
