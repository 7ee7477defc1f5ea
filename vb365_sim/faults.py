"""Fault injection: rules that delay, fail, corrupt or cut requests to the simulated API.

Rules come from ``POST /_sim/faults`` or the ``--fault-*`` CLI flags. Control-plane paths (``/_sim/*``)
are never faulted, so a test can always clear what it set.
"""

from __future__ import annotations

import contextlib
import random
import re
import socket
import threading
from dataclasses import dataclass
from typing import Any

# The on/off effects, and a rule's keys in the order ``GET /_sim/faults`` lists them.
_FLAGS = ("malformed", "drop", "down", "cut_body")
_KEYS = ("latency_ms", "answer_delay_ms", "status", "rate", "path", *_FLAGS)


@dataclass(frozen=True)
class FaultPlan:
    """Fault effects: what one rule does, or the combined effect of the rules that fired for one request.

    ``down`` cuts the connection before processing; otherwise ``latency_ms`` delays, ``status`` answers an
    error, ``malformed`` replaces a success body with broken JSON, ``answer_delay_ms`` processes the request
    and then waits before answering (a start whose session is already listed while its caller still waits),
    and ``drop`` processes the request and then cuts the connection instead of answering. ``cut_body``
    answers a download normally and cuts the connection half way through its body (a file that must not be
    offered)."""

    latency_ms: int = 0
    answer_delay_ms: int = 0
    status: int | None = None
    malformed: bool = False
    drop: bool = False
    down: bool = False
    cut_body: bool = False


@dataclass(frozen=True)
class FaultRule(FaultPlan):
    """One rule: its effects (``FaultPlan``) apply to a request whose path matches ``path`` (a regex; any
    when None), with probability ``rate``. The effects of the rules that fire together combine."""

    rate: float = 1.0
    path: str | None = None

    @classmethod
    def from_json(cls, data: object) -> FaultRule:
        """Validate a JSON object; raise ValueError naming the problem."""
        if not isinstance(data, dict):
            raise ValueError("a fault must be a JSON object")
        unknown = set(data) - set(_KEYS)
        if unknown:
            raise ValueError(f"unknown fault keys: {', '.join(sorted(unknown))}")
        latency = data.get("latency_ms", 0) or 0
        answer_delay = data.get("answer_delay_ms", 0) or 0
        status = data.get("status")
        rate = data.get("rate", 1.0)
        path = data.get("path")
        if not isinstance(latency, int) or isinstance(latency, bool) or latency < 0:
            raise ValueError("latency_ms must be a non-negative integer")
        if not isinstance(answer_delay, int) or isinstance(answer_delay, bool) or answer_delay < 0:
            raise ValueError("answer_delay_ms must be a non-negative integer")
        if status is not None and (not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599):
            raise ValueError("status must be an HTTP status code")
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 <= rate <= 1:
            raise ValueError("rate must be a number between 0 and 1")
        if path is not None:
            if not isinstance(path, str):
                raise ValueError("path must be a regular expression string")
            re.compile(path)
        flags = {}
        for key in _FLAGS:
            value = data.get(key, False)
            if not isinstance(value, bool):
                raise ValueError(f"{key} must be a boolean")
            flags[key] = value
        return cls(latency_ms=latency, answer_delay_ms=answer_delay, status=status, rate=float(rate), path=path,
                   **flags)

    def to_json(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in _KEYS}


class FaultInjector:
    """Thread-safe rule list with a seeded RNG, so ``rate`` < 1 is reproducible for a given seed."""

    def __init__(self, seed: int = 1, rules: list[FaultRule] | None = None) -> None:
        self._lock = threading.Lock()
        self._seed = seed
        self._initial = list(rules or [])
        self._rng = random.Random(f"vb365sim-faults-{seed}")
        self._rules: list[tuple[FaultRule, re.Pattern[str] | None]] = []
        for rule in self._initial:
            self.add(rule)

    def reset(self) -> None:
        """The rules given at start (the ``--fault-*`` flags) and the RNG as seeded, as if just started."""
        with self._lock:
            self._rng = random.Random(f"vb365sim-faults-{self._seed}")
            self._rules.clear()
        for rule in self._initial:
            self.add(rule)

    def add(self, rule: FaultRule) -> None:
        compiled = re.compile(rule.path) if rule.path is not None else None
        with self._lock:
            self._rules.append((rule, compiled))

    def clear(self) -> int:
        with self._lock:
            n = len(self._rules)
            self._rules.clear()
        return n

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return [r for r, _ in self._rules]

    def plan(self, path: str) -> FaultPlan | None:
        """Decide the faults for a request to ``path``; None when no rule fires."""
        with self._lock:
            if not self._rules:
                return None
            fired = [
                rule
                for rule, rx in self._rules
                if (rx is None or rx.search(path)) and (rule.rate >= 1.0 or self._rng.random() < rule.rate)
            ]
        if not fired:
            return None
        status = next((r.status for r in fired if r.status is not None), None)
        return FaultPlan(
            latency_ms=sum(r.latency_ms for r in fired),
            answer_delay_ms=sum(r.answer_delay_ms for r in fired),
            status=status,
            **{flag: any(getattr(r, flag) for r in fired) for flag in _FLAGS},
        )


class ConnectionCut(ConnectionAbortedError):
    """Raised by the app after closing the client socket, so no response bytes are written.

    Werkzeug's request handler treats ``ConnectionError`` subclasses as "connection dropped" and stops
    quietly instead of trying to send a 500.
    """


def cut_connection(environ: dict[str, Any]) -> None:
    """Shut the client connection down without a response; always raises ``ConnectionCut``."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    raise ConnectionCut("connection cut by fault injection")
