"""What every workload's contents (Exchange, OneDrive, SharePoint, Teams) are drawn from."""

from __future__ import annotations

from dataclasses import dataclass

from vb365_sim.contents.ids import IdCodec
from vb365_sim.contents.sizes import ContentSize
from vb365_sim.contents.timeline import DAY_US, Timeline


@dataclass(frozen=True)
class Tenant:
    """One organization as its contents see it: its names, its id codec, the size profile and the time span
    in which its objects are created."""

    org_name: str
    office_name: str
    codec: IdCodec
    size: ContentSize
    origin_us: int  # the earliest an object is created (the tenant was in use before its first backup)
    end_us: int  # the last backup: nothing is created after it


class Workload:
    """A workload's contents: the tenant's fields as attributes, and ``salt``, the workload's own seed bytes."""

    def __init__(self, tenant: Tenant, salt: bytes) -> None:
        self.org_name = tenant.org_name
        self.office_name = tenant.office_name
        self.codec = tenant.codec
        self.size = tenant.size
        self.origin_us = tenant.origin_us
        self.end_us = tenant.end_us
        self.salt = salt

    def spread(self, count: int, *, quiet_days: int, tag: bytes) -> Timeline:
        """Creation times of ``count`` objects over the tenant's span, none in its last ``quiet_days`` (so a
        backup always holds a settled tenant); ``tag`` keeps each kind of object's times its own."""
        return Timeline.spread(count, self.origin_us, self.end_us - quiet_days * DAY_US, self.salt + tag)
