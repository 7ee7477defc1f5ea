"""Lazy, deterministic history of pre-existing restore sessions.

A real VB365 server that has been in use for months already holds many restore sessions when the portal
first connects. Storing a million of them as objects would make ``--sessions 1000000`` slow to start and
large in memory, so session *i* is a pure function of ``(seed, i)``:

* index 0 is the newest session; ``creation_us(i)`` and, for stopped sessions, ``end_us(i)`` strictly
  decrease with ``i``, so time filters and both v8 orderings map to index ranges found by arithmetic or
  binary search instead of scans;
* the first ``WORKING_COUNT`` sessions are still ``Working`` (started from the console and not finished);
* the organization of session *i* follows a fixed repeating pattern, so "sessions of organization X in
  index range [lo, hi)" can be counted and indexed in O(1);
* the session id is an invertible keyed permutation of ``i`` (a small Feistel network), so
  ``GET /RestoreSessions/{id}`` finds the index without a lookup table.

Nothing here is mutable: stopping a history session is recorded as an override by ``state.py``.
"""

from __future__ import annotations

import hashlib
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

# The newest handful of history sessions are still running, like sessions an operator left open in the
# console. They are few, so state.py treats them as explicit records rather than lazy ones.
WORKING_COUNT = 4
# History spans this much time back from process start (organizations' first backups are older).
HISTORY_SPAN_US = 170 * 86_400 * 1_000_000
_MINUTE_US = 60 * 1_000_000
# Working sessions are 5, 10, 15 and 20 minutes old; the newest stopped one starts 30 minutes ago.
_WORKING_STEP_US = 5 * _MINUTE_US
_STOPPED_NEWEST_OFFSET_US = 30 * _MINUTE_US
_MIN_DURATION_US = 2 * _MINUTE_US
_MAX_JITTER_US = 3 * 60 * _MINUTE_US

TYPES = ("Vex", "Vex", "Vex", "Vex", "Vex", "Vex", "Veod", "Veod", "Veod", "Vesp", "Vesp", "Vesp", "Vet", "Vet")
RESULTS = ("Success",) * 17 + ("Warning", "Warning", "Failed")
# (initiatedBy, clientHost): sessions started by people at the console, by scripts and by admins
# through other REST clients -- none of them by the portal.
INITIATORS = (
    ("CONTOSO\\administrator", "VBO365-CONSOLE01"),
    ("CONTOSO\\helpdesk01", "HD-WS-0142"),
    ("console:helpdesk01", "VBO365-CONSOLE01"),
    ("PowerShell (svc-restore)", "VBO365-MGMT02"),
    ("CONTOSO\\jane.admin", "10.20.4.17"),
    ("VBO365\\backup-operator", "VBO365-CONSOLE01"),
)

_M61 = (1 << 61) - 1
_M58 = (1 << 58) - 1
_M64 = (1 << 64) - 1


def _pack_uuid(x: int) -> str:
    """Spread 122 bits into a version-4/variant-1 UUID layout (reversible with ``_unpack_uuid``)."""
    n = ((x >> 74) << 80) | (4 << 76) | (((x >> 62) & 0xFFF) << 64) | (0b10 << 62) | (x & ((1 << 62) - 1))
    return str(uuid.UUID(int=n))


def _unpack_uuid(value: str) -> int | None:
    try:
        n = uuid.UUID(value).int
    except ValueError:
        return None
    if (n >> 76) & 0xF != 4 or (n >> 62) & 0b11 != 0b10:
        return None
    return ((n >> 80) << 74) | (((n >> 64) & 0xFFF) << 62) | (n & ((1 << 62) - 1))


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """Everything about history session *i* that does not depend on organization objects."""

    index: int
    id: str
    org_slot: int
    type: str
    creation_us: int
    end_us: int | None
    point_in_time_us: int
    result: str
    initiated_by: str
    client_host: str
    item_events: int


class History:
    """The lazy sequence of ``count`` pre-existing sessions for ``seed``, anchored at ``anchor_us``.

    ``org_slots`` lists the organization indexes (into the state's organization list) that history sessions
    may belong to; an organization that was never backed up has no history.
    """

    def __init__(self, *, seed: int, count: int, anchor_us: int, org_slots: tuple[int, ...]) -> None:
        self.seed = seed
        self.count = max(0, count)
        self.anchor_us = anchor_us
        self._key = hashlib.blake2b(struct.pack("<q", seed), digest_size=16, person=b"vb365sim").digest()
        self._magic = int.from_bytes(hashlib.blake2b(self._key, digest_size=8).digest(), "little") & _M58
        stopped = max(1, self.count - WORKING_COUNT)
        # Strictly positive so creation times strictly decrease; jitter < step keeps end times monotonic too.
        self.step_us = max(1_000_000, HISTORY_SPAN_US // stopped)
        self._jitter_us = min(self.step_us - 1, _MAX_JITTER_US)
        # Organization pattern: the first slot gets the most sessions, the way one big tenant dominates.
        weights = (4, 3, 2, 1)
        pattern: list[int] = []
        for pos, slot in enumerate(org_slots):
            pattern.extend([slot] * weights[pos % len(weights)])
        # Interleave so consecutive sessions rotate between organizations.
        self.pattern = tuple(self._interleave(pattern))
        self._positions = {s: tuple(p for p, v in enumerate(self.pattern) if v == s) for s in set(self.pattern)}
        # Recent pages are read over and over (portal polling); items are immutable, so cache a bounded set.
        self.item = lru_cache(maxsize=20_000)(self._item)
        self._prefix = {
            s: tuple(sum(1 for v in self.pattern[:k] if v == s) for k in range(len(self.pattern) + 1))
            for s in set(self.pattern)
        }

    @staticmethod
    def _interleave(pattern: list[int]) -> list[int]:
        buckets: dict[int, int] = {}
        for s in pattern:
            buckets[s] = buckets.get(s, 0) + 1
        out: list[int] = []
        while buckets:
            for s in sorted(buckets):
                out.append(s)
                buckets[s] -= 1
            buckets = {s: n for s, n in buckets.items() if n}
        return out

    # --- ids ---------------------------------------------------------------------------------------

    def _f(self, r: int, half: int) -> int:
        digest = hashlib.blake2b(bytes((r,)) + half.to_bytes(8, "little"), digest_size=8, key=self._key).digest()
        return int.from_bytes(digest, "little") & _M61

    def session_id(self, i: int) -> str:
        """The UUID of history session ``i`` (a keyed permutation, so ``index_of`` can invert it)."""
        x = (self._magic << 64) | (i & _M64)
        left, right = x >> 61, x & _M61
        for r in range(4):
            left, right = right, left ^ self._f(r, right)
        return _pack_uuid((left << 61) | right)

    def index_of(self, session_id: str) -> int | None:
        """Index of the history session with this id, or None when the id is not one of ours."""
        x = _unpack_uuid(session_id)
        if x is None:
            return None
        left, right = x >> 61, x & _M61
        for r in (3, 2, 1, 0):
            left, right = right ^ self._f(r, left), left
        x = (left << 61) | right
        if x >> 64 != self._magic:
            return None
        i = x & _M64
        return i if i < self.count else None

    # --- times ---------------------------------------------------------------------------------------

    def _bytes(self, i: int) -> bytes:
        return hashlib.blake2b(struct.pack("<Q", i), digest_size=16, key=self._key, person=b"item").digest()

    def creation_us(self, i: int) -> int:
        """Creation time of session ``i`` in microseconds since the epoch; strictly decreasing in ``i``."""
        if i < WORKING_COUNT:
            return self.anchor_us - (i + 1) * _WORKING_STEP_US
        return self.anchor_us - _STOPPED_NEWEST_OFFSET_US - (i - WORKING_COUNT) * self.step_us

    def end_us(self, i: int, b: bytes | None = None) -> int | None:
        """End time of a stopped session (None for the working ones); strictly decreasing for i >= WORKING_COUNT.

        ``b`` is ``_bytes(i)`` when the caller already has it.
        """
        if i < WORKING_COUNT:
            return None
        b = b or self._bytes(i)
        jitter = int.from_bytes(b[8:12], "little") % (self._jitter_us + 1) if self._jitter_us > 0 else 0
        return self.creation_us(i) + _MIN_DURATION_US + jitter

    def org_slot(self, i: int) -> int:
        return self.pattern[i % len(self.pattern)]

    def _item(self, i: int) -> HistoryItem:
        """Compute history session ``i`` (0 <= i < count)."""
        b = self._bytes(i)
        creation = self.creation_us(i)
        initiated_by, client_host = INITIATORS[b[2] % len(INITIATORS)]
        # The point in time browsed is a little before the session, usually within the last days.
        pit = creation - (1 + b[3] % 96) * 3600 * 1_000_000
        return HistoryItem(
            index=i,
            id=self.session_id(i),
            org_slot=self.org_slot(i),
            type=TYPES[b[0] % len(TYPES)],
            creation_us=creation,
            end_us=self.end_us(i, b),
            point_in_time_us=pit,
            result="Success" if i < WORKING_COUNT else RESULTS[b[1] % len(RESULTS)],
            initiated_by=initiated_by,
            client_host=client_host,
            item_events=b[4] % 7,
        )

    # --- index arithmetic for filtered paging ------------------------------------------------------

    def count_matching(self, lo: int, hi: int, slot: int | None) -> int:
        """Number of indexes in [lo, hi) whose organization is ``slot`` (any when None)."""
        if hi <= lo:
            return 0
        if slot is None:
            return hi - lo
        return self._cnt(hi, slot) - self._cnt(lo, slot)

    def _cnt(self, x: int, slot: int) -> int:
        occ = self._positions.get(slot)
        if not occ:
            return 0
        p = len(self.pattern)
        return (x // p) * len(occ) + self._prefix[slot][x % p]

    def nth_matching(self, lo: int, n: int, slot: int | None) -> int:
        """The index of the ``n``-th (0-based) index >= lo whose organization is ``slot``."""
        if slot is None:
            return lo + n
        occ = self._positions[slot]
        target = self._cnt(lo, slot) + n
        return (target // len(occ)) * len(self.pattern) + occ[target % len(occ)]

    def matches(self, i: int, slot: int | None) -> bool:
        return slot is None or self.pattern[i % len(self.pattern)] == slot

    def first_index(self, lo: int, hi: int, pred: Callable[[int], bool]) -> int:
        """Smallest i in [lo, hi) with pred(i) true, for a predicate monotone in i (False... True); hi if none."""
        while lo < hi:
            mid = (lo + hi) // 2
            if pred(mid):
                hi = mid
            else:
                lo = mid + 1
        return lo
