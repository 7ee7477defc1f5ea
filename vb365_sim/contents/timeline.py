"""When each slot of a collection exists, and how to page over "what exists at time T" by arithmetic.

A collection (the items of a mail folder, the documents of a folder, the posts of a channel) is a sequence
of ``count`` slots in creation order. Slot ``i`` is created at ``start + i * step + jitter(i)`` with
``0 <= jitter < step``, so creation times strictly increase and "slots created at or before T" is the
prefix ``[0, n)``, found with one hash. Every ``delete_every``-th slot (``i % delete_every ==
delete_every - 1``) is deleted ``delete_lag`` after its creation, so "deleted at or before T" is the
deletable slots of the prefix ``[0, m)``, again one hash. The k-th slot visible at T (with or without
the deleted ones) is then a closed formula: a page anywhere costs O(page size), whatever the size.

Versions: slot ``i`` has ``versions`` edits spread evenly from its creation to ``span_end``; at T the
current version is the number of edits made by then.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

US = 1_000_000
DAY_US = 86_400 * US


@dataclass(frozen=True, slots=True)
class Timeline:
    count: int
    start_us: int
    step_us: int
    salt: bytes
    delete_every: int = 0
    delete_lag_us: int = 0
    jitter: bool = True  # off where an id is derived from the creation time (Teams posts)

    @classmethod
    def spread(cls, count: int, start_us: int, end_us: int, salt: bytes, *, delete_every: int = 0,
               delete_lag_us: int = 0) -> Timeline:
        """``count`` slots created evenly between ``start_us`` and ``end_us``."""
        step = max(1, (end_us - start_us) // max(1, count))
        return cls(count, start_us, step, salt, delete_every, delete_lag_us)

    def _jitter(self, i: int) -> int:
        if self.step_us <= 1 or not self.jitter:
            return 0
        digest = hashlib.blake2b(struct.pack("<Q", i), digest_size=8, key=self.salt[:64]).digest()
        return int.from_bytes(digest, "little") % self.step_us

    def created(self, i: int) -> int:
        return self.start_us + i * self.step_us + self._jitter(i)

    def deletable(self, i: int) -> bool:
        return self.delete_every > 0 and i % self.delete_every == self.delete_every - 1

    def deleted(self, i: int) -> int | None:
        """When slot ``i`` is deleted, or None if it never is."""
        return self.created(i) + self.delete_lag_us if self.deletable(i) else None

    def created_by(self, t: int | None) -> int:
        """How many slots exist (deleted or not) at ``t``: the prefix ``[0, n)``; none at ``t`` None (a
        session with no backup data)."""
        if t is None or t < self.start_us:
            return 0
        q = (t - self.start_us) // self.step_us
        if q >= self.count:
            return self.count
        return q + 1 if self.created(q) <= t else q

    def window(self, t: int | None, show_deleted: bool) -> Window:
        """The slots visible at ``t`` (nothing when ``t`` is None: a session without backup data)."""
        if t is None:
            return Window(0, 0, self.delete_every, show_deleted)
        n = self.created_by(t)
        m = min(n, self.created_by(t - self.delete_lag_us)) if self.delete_every else 0
        return Window(n, m, self.delete_every, show_deleted)


@dataclass(frozen=True, slots=True)
class Window:
    """Slots ``[0, created)`` of which the deletable ones below ``deleted_prefix`` are gone."""

    created: int
    deleted_prefix: int
    every: int
    show_deleted: bool

    @property
    def gone(self) -> int:
        return self.deleted_prefix // self.every if self.every else 0

    def __len__(self) -> int:
        return self.created if self.show_deleted else self.created - self.gone

    def slot(self, k: int) -> int:
        """The slot index of the k-th visible slot (0 <= k < len(self))."""
        if self.show_deleted or not self.every:
            return k
        kept_before = self.deleted_prefix - self.gone
        if k < kept_before:
            per = self.every - 1
            return (k // per) * self.every + k % per
        return self.deleted_prefix + (k - kept_before)

    def is_deleted(self, i: int) -> bool:
        return bool(self.every) and i < self.deleted_prefix and i % self.every == self.every - 1

    def slots(self, offset: int, limit: int) -> range | list[int]:
        stop = min(len(self), offset + limit)
        if self.show_deleted or not self.every:
            return range(offset, max(offset, stop))
        return [self.slot(k) for k in range(offset, stop)]


def versions_at(created_us: int, versions: int, span_end_us: int, t: int) -> int:
    """How many of ``versions`` edits (evenly spread from ``created_us`` to ``span_end_us``) exist at ``t``."""
    if t < created_us:
        return 0
    if versions <= 1 or span_end_us <= created_us:
        return 1
    gap = max(1, (span_end_us - created_us) // versions)
    return min(versions, (t - created_us) // gap + 1)


def version_time(created_us: int, versions: int, span_end_us: int, n: int) -> int:
    """When version ``n`` (1-based) was saved."""
    if versions <= 1 or span_end_us <= created_us:
        return created_us
    gap = max(1, (span_end_us - created_us) // versions)
    return created_us + (n - 1) * gap
