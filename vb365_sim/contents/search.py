"""Search: a small subset of the Explorers' query language, and result sets kept under a ``setId``.

# Reference: BROWSE-RESTORE.md §1.1 -- search pages carry ``setId``; passing it back pages the same result
# set "and decrease[s] the number of requests to the cloud". The query language is the Explorers' Appendix A.
# Inferred (subset): whitespace-separated terms, all of which must match; ``"a phrase"`` is one term;
# ``field:value`` matches one field (``subject``, ``from``, ``to``, ``name``, ``author``, ...), a bare term
# any field; matching is a case-insensitive substring. An empty query matches everything.

A result set is filled lazily: a page scans only as far as it needs (plus one match, to know whether a
next page exists), and the next page of the same ``setId`` continues where the scan stopped. The cache
keeps the most recent sets only, so memory stays bounded; a ``setId`` that is unknown, expired or was made
for another scope starts a new set (and a new ``setId``).
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

_TERM = re.compile(r'(?:(\w+):)?(?:"([^"]*)"|(\S+))')
Matcher = Callable[[dict[str, str]], bool]


def matcher(query: str) -> Matcher:
    terms = [(field.lower() if field else None, (quoted or bare).lower())
             for field, quoted, bare in _TERM.findall(query or "")]
    terms = [(f, v) for f, v in terms if v]

    def match(fields: dict[str, str]) -> bool:
        lowered = {k.lower(): str(v).lower() for k, v in fields.items()}
        everything = " ".join(lowered.values())
        for field, value in terms:
            haystack = everything if field is None else lowered.get(field.lower(), "")
            if value not in haystack:
                return False
        return True

    return match


class ResultSet:
    def __init__(self, key: tuple[Any, ...], found: Iterator[Any]) -> None:
        self.key = key
        self._source = found
        self._found: list[Any] = []
        self.done = False
        self.lock = threading.Lock()

    def page(self, offset: int, limit: int) -> tuple[list[Any], bool, int | None]:
        """(results, whether more exist, the total once the scan is complete)."""
        with self.lock:
            while not self.done and len(self._found) < offset + limit + 1:
                try:
                    self._found.append(next(self._source))
                except StopIteration:
                    self.done = True
            results = self._found[offset : offset + limit]
            return results, len(self._found) > offset + limit, len(self._found) if self.done else None


class SearchCache:
    """The recent result sets by ``setId``."""

    def __init__(self, max_sets: int = 64) -> None:
        self._sets: OrderedDict[str, ResultSet] = OrderedDict()
        self._max = max_sets
        self._lock = threading.Lock()

    def open(self, key: tuple[Any, ...], set_id: str | None,
             start: Callable[[], Iterator[Any]]) -> tuple[str, ResultSet]:
        with self._lock:
            wanted = (set_id or "").strip().lower()
            found = self._sets.get(wanted)
            if found is not None and found.key == key:
                self._sets.move_to_end(wanted)
                return wanted, found
            new_id = str(uuid.uuid4())
            result = ResultSet(key, start())
            self._sets[new_id] = result
            while len(self._sets) > self._max:
                self._sets.popitem(last=False)
            return new_id, result

    def clear(self) -> None:
        with self._lock:
            self._sets.clear()
