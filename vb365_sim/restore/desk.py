"""What restores keep between requests: the run-time knobs, device codes and the v8 restore runs.

Everything here is small: a run keeps its selection as a lazy ``Selection`` (count + item at index), so a
200,000-item folder restore costs the same memory as a one-item one.
"""

from __future__ import annotations

import bisect
import hashlib
import secrets
import string
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from vb365_sim.state import Principal, SimClock, SimConfig

US = 1_000_000
GIB = 1 << 30


@dataclass(frozen=True, slots=True)
class Entry:
    """One object a restore or an export handles (a mail item, a document, a post, a file)."""

    id: str
    name: str
    item_type: str      # the v8 RESTRestoreItemType (ExchangeMailbox, OneDriveItem, TeamsPost, ...)
    size: int
    path: str = ""


@dataclass(frozen=True)
class Selection:
    """``count`` entries, the i-th computed by ``at(i)``: never a list of a whole folder in memory."""

    count: int
    at: Callable[[int], Entry]

    @classmethod
    def of(cls, entries: list[Entry]) -> Selection:
        return cls(len(entries), entries.__getitem__)

    @classmethod
    def chain(cls, parts: list[Selection]) -> Selection:
        starts, total = [], 0
        for part in parts:
            starts.append(total)
            total += part.count

        def at(i: int) -> Entry:
            for start, part in zip(reversed(starts), reversed(parts), strict=True):
                if i >= start:
                    return part.at(i - start)
            raise IndexError(i)

        return cls(total, at)

    @classmethod
    def groups(cls, counts: list[int], at: Callable[[int, int], Entry]) -> Selection:
        """Groups of ``counts[g]`` entries, entry j of group g being ``at(g, j)`` (found by bisection)."""
        starts, total = [], 0
        for n in counts:
            starts.append(total)
            total += n

        def entry(i: int) -> Entry:
            g = bisect.bisect_right(starts, i) - 1
            while counts[g] == 0:  # empty groups share their start with the next one
                g -= 1
            return at(g, i - starts[g])

        return cls(total, entry)

    def __iter__(self) -> Iterator[Entry]:
        return (self.at(i) for i in range(self.count))


@dataclass
class Knobs:
    """Run-time knobs (``GET``/``POST /_sim/restore-knobs``); ``POST /_sim/reset`` puts the start values back.

    Times named ``*_real_*`` are wall-clock (they cost test time; 0 by default); ``item_sim_seconds`` is
    on the SimClock (tests advance it).
    """

    # Real seconds of "preparing the file in the temp folder" per GiB before the first byte (0: none).
    prepare_real_seconds_per_gib: float = 0.0
    # Download throughput cap in bytes per second (0: unlimited).
    bytes_per_second: int = 0
    # v6/v7: real seconds the restore POST is held per item (0: answers at once).
    item_real_seconds: float = 0.0
    # v8: simulated seconds each item of a restore run takes (0: done at once).
    item_sim_seconds: float = 0.1
    # Per-item outcomes, decided by a hash of the item id: this share fails, the next share is skipped.
    failed_percent: float = 2.0
    skipped_percent: float = 3.0
    # PST export needs 64-bit Outlook on the VB365 server (BROWSE-RESTORE.md §0 item 5).
    outlook_installed: bool = True
    # Send needs the explorer's e-mail settings (BROWSE-RESTORE.md §0 item 6).
    email_settings_configured: bool = True
    # Smallest pstSizeLimitBytes accepted (the contract says 1 GB; tests lower it to split small exports).
    min_pst_limit_bytes: int = GIB
    # Lifetime of a device code (RESTDeviceCodeResponse.expiresIn).
    device_code_seconds: int = 900

    @classmethod
    def from_config(cls, config: SimConfig) -> Knobs:
        return cls(prepare_real_seconds_per_gib=config.export_prepare_seconds_per_gib,
                   bytes_per_second=config.export_bytes_per_second,
                   item_real_seconds=config.restore_item_real_seconds,
                   item_sim_seconds=config.restore_item_sim_seconds,
                   outlook_installed=config.outlook_installed)

    def updated(self, data: object) -> Knobs:
        """These knobs with ``data``'s keys changed; ValueError naming a bad key or value."""
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object of knobs")  # noqa: TRY004 -- the control plane answers 400
        kinds = {f.name: type(getattr(self, f.name)) for f in fields(self)}
        unknown = set(data) - set(kinds)
        if unknown:
            raise ValueError(f"unknown restore knobs: {', '.join(sorted(unknown))}")
        for key, value in data.items():
            kind = kinds[key]
            ok = isinstance(value, bool) if kind is bool else (
                isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
                and (kind is float or float(value).is_integer()))
            if not ok:
                raise ValueError(f"{key} must be {'a boolean' if kind is bool else 'a number, 0 or more'}")
        return replace(self, **{k: (v if kinds[k] is bool else kinds[k](v)) for k, v in data.items()})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def outcome(self, item_id: str) -> str:
        """``Success``, ``Failed`` or ``Skipped`` for an item, the same on every run (hash of the id)."""
        b = hashlib.blake2b(item_id.encode(), digest_size=4, person=b"outcome").digest()
        share = int.from_bytes(b, "little") % 10_000 / 100
        if share < self.failed_percent:
            return "Failed"
        if share < self.failed_percent + self.skipped_percent:
            return "Skipped"
        return "Success"


@dataclass
class DeviceCode:
    code: str
    organization_id: str
    expires_us: int
    approved: bool = False


@dataclass
class Run:
    """One v8 restore: ``sessionId``, what it restores and how far it got (counted lazily, O(new items))."""

    id: str
    owner: str
    parent_id: str
    organization_id: str
    session_type: str
    title: str
    target: str
    selection: Selection
    start_us: int
    item_us: int
    knobs: Knobs
    counted: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {"Success": 0, "Failed": 0, "Skipped": 0})
    lock: threading.Lock = field(default_factory=threading.Lock)

    def done_at(self, now_us: int) -> int:
        if self.item_us <= 0:
            return self.selection.count
        return min(self.selection.count, max(0, (now_us - self.start_us) // self.item_us))

    def end_us(self) -> int:
        return self.start_us + self.selection.count * max(0, self.item_us)

    def tally(self, now_us: int) -> tuple[int, dict[str, int]]:
        done = self.done_at(now_us)
        with self.lock:
            while self.counted < done:
                self.counts[self.knobs.outcome(self.selection.at(self.counted).id)] += 1
                self.counted += 1
            return done, dict(self.counts)


class RestoreDesk:
    """Knobs, device codes and runs of one simulator (thread-safe)."""

    def __init__(self, config: SimConfig, clock: SimClock) -> None:
        self.config = config
        self.clock = clock
        self._lock = threading.Lock()
        self.knobs = Knobs.from_config(config)
        self._codes: dict[str, DeviceCode] = {}
        self._runs: dict[str, Run] = {}

    def reset(self) -> None:
        with self._lock:
            self.knobs = Knobs.from_config(self.config)
            self._codes.clear()
            self._runs.clear()

    def set_knobs(self, data: object) -> Knobs:
        with self._lock:
            self.knobs = self.knobs.updated(data)
            return self.knobs

    # --- device codes ---

    def new_device_code(self, organization_id: str) -> DeviceCode:
        alphabet = string.ascii_uppercase + string.digits
        code = DeviceCode("".join(secrets.choice(alphabet) for _ in range(9)), organization_id,
                          self.clock() + self.knobs.device_code_seconds * US)
        with self._lock:
            self._codes[code.code] = code
        return code

    def device_code(self, code: str) -> DeviceCode | None:
        with self._lock:
            return self._codes.get(code.strip().upper())

    def approve(self, code: str) -> DeviceCode:
        """``POST /_sim/device-codes/{code}/approve``: the operator signed in at the verification address."""
        found = self.device_code(code)
        if found is None:
            raise LookupError(f"no device code {code}")
        found.approved = True
        return found

    # --- v8 runs ---

    def start_run(self, **kw: Any) -> Run:
        run = Run(id=str(uuid.uuid4()), start_us=self.clock(), knobs=self.knobs,
                  item_us=round(self.knobs.item_sim_seconds * US), **kw)
        with self._lock:
            self._runs[run.id] = run
        return run

    def run(self, run_id: str, principal: Principal) -> Run | None:
        """The run, if ``principal`` may see it (the rule of restore sessions: admin all, tenant its own)."""
        with self._lock:
            found = self._runs.get(run_id.lower())
        if found is None:
            return None
        if principal.kind == "admin" or (principal.kind == "tenant"
                                         and found.organization_id == principal.organization_id):
            return found
        return found if found.owner == principal.key else None
