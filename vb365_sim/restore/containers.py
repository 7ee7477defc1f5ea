"""Files that save and export answer with: MSG, PST, plain documents, Teams HTML, and ZIPs of them.

Every body is a generator of chunks computed from the item ids: nothing is built in memory, so a 2 GB
export costs one 256 KiB chunk at a time (BROWSE-RESTORE.md §6.2: "valid ZIPs ... streamed").

# Reference: BROWSE-RESTORE.md §2.7 -- ``application/octet-stream`` for all; MSG = OLE compound file
# (``D0 CF 11 E0 A1 B1 1A E1``), PST starts with ``!BDN``, Teams export is HTML; ZIP for several files.
"""

from __future__ import annotations

import hashlib
import html
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from werkzeug.wrappers import Response

from vb365_sim.restore.desk import GIB, Knobs
from vb365_sim.state import SimError

if TYPE_CHECKING:
    from vb365_sim.app import Call

CHUNK = 256 * 1024
BLOCK = 64 * 1024
OLE_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
PST_SIGNATURE = b"!BDN"
OCTET = "application/octet-stream"
# Inferred: a fixed ZIP entry time (the contract names none); it also makes a ZIP's bytes repeatable.
ZIP_TIME = (2024, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Blob:
    """One file of a download: ``size`` bytes starting with the format's signature, then filler from ``seed``."""

    name: str
    size: int
    header: bytes
    seed: str

    def chunks(self, start: int = 0) -> Iterator[bytes]:
        """The bytes from ``start`` on; byte ``i`` is the same on every call (Range resumes rely on it)."""
        block = hashlib.shake_256(self.seed.encode()).digest(BLOCK)
        position = start
        if position < len(self.header):
            yield self.header[position:self.size]
            position = len(self.header)
        while position < self.size:
            offset = (position - len(self.header)) % BLOCK
            n = min(self.size - position, BLOCK - offset, CHUNK)
            yield block[offset:offset + n]
            position += n


def msg(name: str, size: int, seed: str) -> Blob:
    return Blob(name, max(size, 512), OLE_SIGNATURE + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff\x09\x00", seed)


def pst(name: str, size: int, seed: str) -> Blob:
    # Inferred: "!BDN" then the Unicode PST magic client "SM" and version 23, as a real header starts.
    return Blob(name, max(size, 512), PST_SIGNATURE + b"\x00\x00\x00\x00SM\x17\x00", seed)


def plain(name: str, size: int, seed: str) -> Blob:
    return Blob(name, size, b"", seed)


def html_page(title: str, posts: Iterable[tuple[str, str, str]]) -> Iterator[bytes]:
    """A Teams post export: one HTML document, a ``<div class="post">`` per (author, time, text)."""
    yield (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title></head>"
           f"<body><h1>{html.escape(title)}</h1>\n").encode()
    buffer: list[str] = []
    for author, when, text in posts:
        buffer.append(f"<div class=\"post\"><p class=\"author\">{html.escape(author)}</p>"
                      f"<p class=\"time\">{when}</p><p class=\"text\">{html.escape(text)}</p></div>\n")
        if len(buffer) >= 200:
            yield "".join(buffer).encode()
            buffer.clear()
    buffer.append("</body></html>\n")
    yield "".join(buffer).encode()


class _Sink:
    """A write-only file for ``zipfile`` that hands what was written to the generator (no seek, no tell)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> Iterator[bytes]:
        parts, self.parts = self.parts, []
        return iter(parts)


def zip_chunks(blobs: Iterable[Blob]) -> Iterator[bytes]:
    """A stored (uncompressed) ZIP of ``blobs`` written entry by entry; ZIP64 where sizes need it."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for blob in blobs:
            info = zipfile.ZipInfo(blob.name, ZIP_TIME)
            info.file_size = blob.size
            with archive.open(info, "w", force_zip64=blob.size >= 1 << 31) as entry:
                for chunk in blob.chunks():
                    entry.write(chunk)
                    yield from sink.take()
            yield from sink.take()
    yield from sink.take()


def zip_size_estimate(blobs_size: int, count: int) -> int:
    return blobs_size + count * 200 + 22


def throttled(chunks: Iterator[bytes], knobs: Knobs) -> Iterator[bytes]:
    """``chunks`` no faster than ``knobs.bytes_per_second`` (real time; 0 = as fast as they come)."""
    rate = knobs.bytes_per_second
    if rate <= 0:
        yield from chunks
        return
    started, sent = time.monotonic(), 0
    for chunk in chunks:
        yield chunk
        sent += len(chunk)
        ahead = sent / rate - (time.monotonic() - started)
        if ahead > 0:
            time.sleep(ahead)


def prepare(knobs: Knobs, size: int) -> None:
    """The server builds the file in a temp folder first (BROWSE-RESTORE.md §2.7): time before the answer."""
    if knobs.prepare_real_seconds_per_gib > 0:
        time.sleep(knobs.prepare_real_seconds_per_gib * size / GIB)


def stream(chunks: Iterator[bytes], *, knobs: Knobs, planned: int, length: int | None = None,
           status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """An octet-stream answer; ``planned`` is the expected size (the cut-stream fault cuts at half of it).

    # Inferred: ``Content-Length`` is sent when the size is known up front (one file); ZIPs and HTML go
    # chunked. The contract documents no response header at all (BROWSE-RESTORE.md §0 item 3).
    """
    prepare(knobs, planned)
    response = Response(throttled(chunks, knobs), status=status, content_type=OCTET, headers=headers,
                        direct_passthrough=True)
    if length is not None:
        response.headers["Content-Length"] = str(length)
    response.planned_bytes = planned  # type: ignore[attr-defined]
    return response


def download(blobs: list[Blob], *, knobs: Knobs, as_zip: bool) -> Response:
    """One blob as itself, or several (or one with ``as_zip``) as a ZIP."""
    if len(blobs) == 1 and not as_zip:
        return stream(blobs[0].chunks(), knobs=knobs, planned=blobs[0].size, length=blobs[0].size)
    total = sum(b.size for b in blobs)
    return stream(zip_chunks(blobs), knobs=knobs, planned=zip_size_estimate(total, len(blobs)))


def ranged(call: Call, blob: Blob, knobs: Knobs) -> Response:
    """A single PST honouring ``Range: bytes=a-[b]`` (206, or 416 when unsatisfiable).

    # Reference: BROWSE-RESTORE.md §2.7/§4.3 -- only the mailbox PST export documents ``Range`` (v7+).
    """
    header = call.request.headers.get("Range")
    if not header:
        return stream(blob.chunks(), knobs=knobs, planned=blob.size, length=blob.size)
    unit, _, spec = header.partition("=")
    first, _, last = spec.strip().partition("-")
    try:
        if unit.strip().lower() != "bytes" or "," in spec or not first:
            raise ValueError
        start = int(first)
        end = int(last) if last.strip() else blob.size - 1
    except ValueError:
        raise SimError(416, f"The range '{header}' is not valid.", "ParameterValidationFailure") from None
    if start >= blob.size or end < start:
        raise SimError(416, f"The range '{header}' is outside the file of {blob.size} bytes.",
                       "ParameterValidationFailure")
    end = min(end, blob.size - 1)
    length = end - start + 1

    def part() -> Iterator[bytes]:
        left = length
        for chunk in blob.chunks(start):
            if left <= 0:
                return
            yield chunk[:left]
            left -= len(chunk[:left])

    return stream(part(), knobs=knobs, planned=length, length=length, status=206,
                  headers={"Content-Range": f"bytes {start}-{end}/{blob.size}", "Accept-Ranges": "bytes"})
