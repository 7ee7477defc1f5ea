"""What the backups of each organization contain, computed on demand from the seed.

Nothing here is stored per item: an object is a pure function of (seed, organization, container, index)
and of the point in time it is looked at, so any page of any folder costs O(page size) and memory stays
flat however big ``--content`` makes the tenants. The only caches are bounded (folder trees of recently
browsed containers, recent search result sets).

``Contents.view(...)`` gives the ``SessionView`` a restore session browses: one organization, seen at the
backup time of the session's restore point, with the session's ``showDeleted``/``showAllVersions``.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from vb365_sim.contents.exchange import Exchange
from vb365_sim.contents.ids import IdCodec
from vb365_sim.contents.onedrive import OneDrive
from vb365_sim.contents.search import SearchCache
from vb365_sim.contents.sharepoint import SharePoint
from vb365_sim.contents.sizes import ContentSize, content_size
from vb365_sim.contents.teams import Teams
from vb365_sim.contents.timeline import DAY_US
from vb365_sim.contents.workload import Tenant

# Content predates the first backup: the tenant was in use for two years before VB365 was installed.
HISTORY_BEFORE_FIRST_BACKUP_US = 730 * DAY_US


class OrgContents:
    def __init__(self, *, seed: int, org_id: str, org_name: str, office_name: str, first_backup_us: int,
                 last_backup_us: int, size: ContentSize) -> None:
        salt = hashlib.blake2b(struct.pack("<q", seed) + org_id.encode(), digest_size=32, person=b"contents").digest()
        self.codec = IdCodec(seed, org_id)
        tenant = Tenant(org_name=org_name, office_name=office_name, codec=self.codec, size=size,
                        origin_us=first_backup_us - HISTORY_BEFORE_FIRST_BACKUP_US, end_us=last_backup_us)
        self.exchange = Exchange(tenant, salt + b"x")
        self.onedrive = OneDrive(tenant, salt + b"o", self.exchange)
        self.sharepoint = SharePoint(tenant, salt + b"s")
        self.teams = Teams(tenant, salt + b"t")


@dataclass(frozen=True)
class SessionView:
    """One session's window on its organization's contents."""

    session_id: str
    org: OrgContents
    t: int | None            # backup time of the restore point; None: the session has no backup data
    show_deleted: bool
    show_all_versions: bool


class Contents:
    def __init__(self, *, seed: int, size: str) -> None:
        self.seed = seed
        self.size = content_size(size)
        self._orgs: dict[str, OrgContents] = {}
        self.searches = SearchCache()

    def organization(self, *, org_id: str, org_name: str, office_name: str, first_backup_us: int,
                     last_backup_us: int) -> OrgContents:
        found = self._orgs.get(org_id)
        if found is None:
            found = OrgContents(seed=self.seed, org_id=org_id, org_name=org_name, office_name=office_name,
                                first_backup_us=first_backup_us, last_backup_us=last_backup_us, size=self.size)
            self._orgs[org_id] = found
        return found
