"""SharePoint contents of one organization: sites with subsites, each with libraries and lists.

Top-level sites join over time (a ``Timeline``); top site ``t`` has up to ``subsites_max`` subsites. A site
is addressed as ``(t, j)`` with ``j = 0`` for the top site. Its containers are numbered libraries first,
then lists; each container is a ``DocTree`` (documents for libraries, list items for lists).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from vb365_sim.contents.ids import Kind, Position
from vb365_sim.contents.timeline import DAY_US
from vb365_sim.contents.tree import DocTree
from vb365_sim.contents.words import (
    CUSTOM_FOLDERS,
    DOC_WORDS,
    EXTENSIONS,
    ITEM_TITLES,
    LIBRARIES,
    LISTS,
    PROJECTS,
    SITE_NAMES,
    long_tail,
    pick,
    rnd,
    unit,
)
from vb365_sim.contents.workload import Tenant, Workload

_FOLDER_BITS = 12  # a container's folder index shares the id field with the container index


@dataclass(frozen=True, slots=True)
class Site:
    top: int
    sub: int
    id: str
    name: str
    url: str
    created_us: int


@dataclass(frozen=True, slots=True)
class Container:
    """A library (``is_list`` False) or a list of a site."""

    site: Site
    index: int
    id: str
    name: str
    url: str
    description: str
    is_list: bool
    created_us: int
    tree: DocTree


class SharePoint(Workload):
    def __init__(self, tenant: Tenant, salt: bytes) -> None:
        super().__init__(tenant, salt)
        self.tops = self.spread(tenant.size.top_sites, quiet_days=30, tag=b"sites")
        self.containers = lru_cache(maxsize=512)(self._containers)

    # --- sites ---

    def top_count(self, t: int | None) -> int:
        return self.tops.created_by(t)

    def subsite_count(self, top: int) -> int:
        return rnd(self.salt, 1, top)[0] % (self.size.subsites_max + 1)

    def site(self, top: int, sub: int = 0) -> Site:
        base = SITE_NAMES[top % len(SITE_NAMES)] + ("" if top < len(SITE_NAMES) else f" {top // len(SITE_NAMES) + 1}")
        url = f"https://{self.office_name.lower()}.sharepoint.com/sites/{base.replace(' ', '')}"
        created = self.tops.created(top)
        if sub:
            name = PROJECTS[(rnd(self.salt, 1, top)[1] + sub) % len(PROJECTS)]
            return Site(top, sub, self.codec.uuid(Position(Kind.SITE, top, sub)), name, f"{url}/{name.lower()}",
                        created + sub * 7 * DAY_US)
        return Site(top, 0, self.codec.uuid(Position(Kind.SITE, top, 0)), base, url, created)

    def sites_at(self, t: int | None, *, top_only: bool = False, under: int | None = None) -> list[Site]:
        """Top sites with their subsites after each (``top_only``: tops only; ``under``: subsites of that top)."""
        out = []
        tops = [under] if under is not None else range(self.top_count(t))
        for top in tops:
            if under is None:
                out.append(self.site(top))
            if not top_only:
                out.extend(s for sub in range(1, self.subsite_count(top) + 1)
                           if (s := self.site(top, sub)).created_us <= (t or 0))
        return out

    def site_by_id(self, site_id: str, t: int | None) -> Site | None:
        p = self.codec.from_uuid(site_id, Kind.SITE)
        if p is None or t is None or p.a >= self.top_count(t) or p.b > self.subsite_count(p.a):
            return None
        site = self.site(p.a, p.b)
        return site if site.created_us <= t else None

    # --- libraries and lists ---

    def _containers(self, top: int, sub: int) -> tuple[Container, ...]:
        site = self.site(top, sub)
        b = rnd(self.salt, 2, top, sub)
        names = [(n, False) for n in LIBRARIES[: 3 + b[0] % 3]] + [(n, True) for n in LISTS[: 2 + b[1] % 4]]
        out = []
        for index, (name, is_list) in enumerate(names):
            cb = rnd(self.salt, 3, top, sub, index)
            median = self.size.list_items_median if is_list else self.size.library_files_median
            docs = long_tail(median, unit(cb, 0)) if name not in ("Site Assets", "Site Pages") else 3 + cb[2] % 20
            tree = DocTree.build(docs=docs, start_us=site.created_us, end_us=self.end_us, salt=self.salt + cb[:16],
                                 per_folder=60 if is_list else 20 + cb[3] % 30, branching=2 + cb[4] % 3,
                                 folder_words=PROJECTS if is_list else CUSTOM_FOLDERS,
                                 doc_words=ITEM_TITLES if is_list else DOC_WORDS,
                                 extensions=("",) if is_list else EXTENSIONS)
            path = "Lists/" + name.replace(" ", "") if is_list else ("Shared Documents" if name == "Documents"
                                                                     else name.replace(" ", ""))
            cid = self.codec.uuid(Position(Kind.SP_LIST if is_list else Kind.SP_LIBRARY, top, sub, index))
            description = "" if not is_list else f"{name} of the {site.name} site"
            out.append(Container(site, index, cid, name, f"{site.url}/{path}", description, is_list, site.created_us,
                                 tree))
        return tuple(out)

    def container_by_id(self, site: Site, container_id: str, *, is_list: bool | None) -> Container | None:
        kinds = ((Kind.SP_LIST,) if is_list else (Kind.SP_LIBRARY,) if is_list is False
                 else (Kind.SP_LIST, Kind.SP_LIBRARY))
        for kind in kinds:
            p = self.codec.from_uuid(container_id, kind)
            if p is not None and (p.a, p.b) == (site.top, site.sub):
                containers = self.containers(site.top, site.sub)
                return containers[p.c] if p.c < len(containers) else None
        return None

    # --- folders, documents, items, attachments ---

    def folder_id(self, c: Container, k: int) -> str:
        return self.codec.uuid(Position(Kind.SP_FOLDER, c.site.top, c.site.sub, c.index << _FOLDER_BITS | k))

    def object_id(self, c: Container, k: int, slot: int) -> str:
        kind = Kind.SP_ITEM if c.is_list else Kind.SP_DOCUMENT
        return self.codec.uuid(Position(kind, c.site.top, c.site.sub, c.index << _FOLDER_BITS | k, slot))

    def attachment_id(self, c: Container, k: int, slot: int, n: int) -> str:
        return self.codec.uuid(Position(Kind.SP_ATTACHMENT, c.site.top, c.site.sub, c.index << _FOLDER_BITS | k,
                                        slot * 4 + n))

    def locate(self, site: Site, value: str, kind: int) -> tuple[Container, int, int] | None:
        """(container, folder, slot) of a folder, document, item or attachment id of ``site``."""
        p = self.codec.from_uuid(value, kind)
        if p is None or (p.a, p.b) != (site.top, site.sub):
            return None
        containers = self.containers(site.top, site.sub)
        index, k = p.c >> _FOLDER_BITS, p.c & ((1 << _FOLDER_BITS) - 1)
        if index >= len(containers) or k >= containers[index].tree.folders:
            return None
        return containers[index], k, p.d

    def attachments(self, c: Container, k: int, slot: int) -> list[tuple[int, str, int]]:
        """(n, name, sizeBytes) of a list item's attachments (a quarter of the items have some)."""
        b = rnd(self.salt, 4, c.site.top, c.site.sub, c.index, k, slot)
        if b[0] % 4:
            return []
        return [(n, f"{pick(('photo', 'scan', 'quote', 'receipt'), b[1 + n])}-{slot + 1}-{n + 1}"
                    f"{pick(('.jpg', '.pdf', '.png', '.docx'), b[4 + n])}", 10_000 + b[7 + n] * b[10 + n] * 53)
                for n in range(1 + b[13] % 3)]
