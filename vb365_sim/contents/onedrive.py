"""OneDrive contents of one organization: one drive per user (joining with the user), each a ``DocTree``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from vb365_sim.contents.exchange import Exchange
from vb365_sim.contents.ids import Kind, Position
from vb365_sim.contents.tree import DocTree
from vb365_sim.contents.words import long_tail, rnd, unit
from vb365_sim.contents.workload import Tenant, Workload


@dataclass(frozen=True, slots=True)
class Drive:
    slot: int
    id: str
    name: str
    url: str
    owner: str
    created_us: int


class OneDrive(Workload):
    """One drive per user of ``exchange`` (a drive is created with its user)."""

    def __init__(self, tenant: Tenant, salt: bytes, exchange: Exchange) -> None:
        super().__init__(tenant, salt)
        self.exchange = exchange
        self.tree = lru_cache(maxsize=512)(self._tree)

    def drive_count(self, t: int | None) -> int:
        return self.exchange.users.created_by(t)

    def drive(self, slot: int) -> Drive:
        box = self.exchange.mailbox(slot)
        nick = box.email.split("@")[0].replace(".", "_")
        domain = self.exchange.org_name.replace(".", "_")
        url = f"https://{self.office_name.lower()}-my.sharepoint.com/personal/{nick}_{domain}/"
        return Drive(slot, self.codec.double_guid(Position(Kind.ONEDRIVE, slot)), box.name, url, box.email,
                     box.created_us)

    def drive_by_id(self, drive_id: str, t: int | None) -> Drive | None:
        p = self.codec.from_double_guid(drive_id, Kind.ONEDRIVE)
        if p is None or t is None or p.a >= self.drive_count(t):
            return None
        return self.drive(p.a)

    def _tree(self, slot: int) -> DocTree:
        b = rnd(self.salt, 1, slot)
        docs = self.size.onedrive_files_max if slot == 0 else min(
            self.size.onedrive_files_max, long_tail(self.size.onedrive_files_median, unit(b, 0)))
        return DocTree.build(docs=docs, start_us=self.exchange.users.created(slot), end_us=self.end_us,
                             salt=self.salt + b[:16], per_folder=10 + b[2] % 30, branching=2 + b[3] % 4,
                             giant_at=1 if slot == 0 else -1)

    # --- ids ---

    def folder_id(self, drive: int, k: int) -> str:
        return self.codec.uuid(Position(Kind.OD_FOLDER, drive, 0, k))

    def document_id(self, drive: int, k: int, slot: int) -> str:
        return self.codec.uuid(Position(Kind.OD_DOCUMENT, drive, 0, k, slot))

    def folder_of(self, drive: Drive, folder_id: str) -> int | None:
        p = self.codec.from_uuid(folder_id, Kind.OD_FOLDER)
        return p.c if p is not None and p.a == drive.slot and p.c > 0 else None

    def document_of(self, drive: Drive, document_id: str) -> tuple[int, int] | None:
        p = self.codec.from_uuid(document_id, Kind.OD_DOCUMENT)
        return (p.c, p.d) if p is not None and p.a == drive.slot else None
