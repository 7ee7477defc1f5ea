"""Object ids in the real shapes, each a keyed, reversible encoding of where the object sits.

An id must lead back to its object without a lookup table (a folder of 200,000 items has 200,000 ids and
none of them is stored), and an id from another organization, or a made-up one, must not. So every id
carries an 80-bit *position* (what kind of object, and its indexes) sealed with a 42-bit MAC keyed by the
seed and the organization; the position is also masked with a pad derived from the MAC, so ids look
random. The 122 bits are then dressed in the shape the real server uses:

* ``uuid``: a version-4 UUID (mailboxes, sites, teams, OneDrive and SharePoint objects, Teams files and tabs).
* ``ews``: a long base64 string like an EWS id (mailbox folders and items). # Reference: BROWSE-RESTORE.md §0
  item 8 (``AAAAAKGE4dIvQUtGjuSnq8JTHAgBAPli…AQ4AAA==``). # Inferred: the simulator's ids use only the
  letters and digits of the base64 alphabet so they fit in a URL path unescaped; real ids may contain
  ``/`` and ``+``, so clients must percent-encode ids anyway.
* ``double_guid``: two GUIDs concatenated, 72 characters (OneDrives; BROWSE-RESTORE.md §0 item 8).
* ``channel``: ``19:<32 hex>@thread.tacv2`` as Microsoft Teams channel ids.

Teams post ids are integers and are encoded from time in ``teams.py``; version ids are ``512 * n``.
"""

from __future__ import annotations

import hashlib
import struct
import uuid
from dataclasses import dataclass

from vb365_sim.history import _pack_uuid, _unpack_uuid

_MAC_BITS = 42
_POS_BITS = 80
_POS_MASK = (1 << _POS_BITS) - 1
# Field widths of a position, high to low: kind, a, b, c, d.
_WIDTHS = (6, 14, 14, 16, 30)
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_B62_WIDTH = 21  # 62**21 > 2**122
# Maps any byte to a letter or digit of the base64 alphabet (for the keyed filler of EWS-like ids).
_FILL = bytes.maketrans(bytes(range(256)), bytes(ord(_ALPHABET[i % 62]) for i in range(256)))


@dataclass(frozen=True, slots=True)
class Position:
    """Where an object sits: ``kind`` (a ``Kind`` constant) and up to four indexes."""

    kind: int
    a: int = 0
    b: int = 0
    c: int = 0
    d: int = 0


class Kind:
    """Object kinds carried in ids; a decoded id of the wrong kind is not found."""

    MAILBOX = 1
    MAIL_FOLDER = 2
    MAIL_ITEM = 3
    ONEDRIVE = 4
    OD_FOLDER = 5
    OD_DOCUMENT = 6
    SITE = 7
    SP_LIBRARY = 8
    SP_LIST = 9
    SP_FOLDER = 10
    SP_DOCUMENT = 11
    SP_ITEM = 12
    SP_ATTACHMENT = 13
    TEAM = 14
    CHANNEL = 15
    TEAMS_FILE = 16
    TAB = 17
    ONEDRIVE_SECOND = 18


def _pack_position(p: Position) -> int:
    value = 0
    for width, field in zip(_WIDTHS, (p.kind, p.a, p.b, p.c, p.d), strict=True):
        if not 0 <= field < (1 << width):
            raise ValueError(f"id field {field} does not fit in {width} bits")
        value = (value << width) | field
    return value


def _unpack_position(value: int) -> Position:
    fields = []
    for width in reversed(_WIDTHS):
        fields.append(value & ((1 << width) - 1))
        value >>= width
    kind, a, b, c, d = reversed(fields)
    return Position(kind, a, b, c, d)


class IdCodec:
    """Encodes and decodes the ids of one organization's contents for one seed."""

    def __init__(self, seed: int, organization_id: str) -> None:
        self._key = hashlib.blake2b(
            struct.pack("<q", seed) + organization_id.encode(), digest_size=32, person=b"vb365ids"
        ).digest()

    def _mac(self, position: int) -> int:
        digest = hashlib.blake2b(position.to_bytes(10, "little"), digest_size=8, key=self._key).digest()
        return int.from_bytes(digest, "little") & ((1 << _MAC_BITS) - 1)

    def _pad(self, mac: int) -> int:
        digest = hashlib.blake2b(mac.to_bytes(6, "little"), digest_size=10, key=self._key, person=b"pad").digest()
        return int.from_bytes(digest, "little") & _POS_MASK

    def seal(self, p: Position) -> int:
        position = _pack_position(p)
        mac = self._mac(position)
        return (mac << _POS_BITS) | (position ^ self._pad(mac))

    def open(self, sealed: int) -> Position | None:
        mac = sealed >> _POS_BITS
        position = (sealed & _POS_MASK) ^ self._pad(mac)
        if self._mac(position) != mac:
            return None
        return _unpack_position(position)

    # --- shapes ---

    def uuid(self, p: Position) -> str:
        return _pack_uuid(self.seal(p))

    def from_uuid(self, value: str, kind: int) -> Position | None:
        sealed = _unpack_uuid(value.strip())
        found = None if sealed is None else self.open(sealed)
        return found if found is not None and found.kind == kind else None

    def ews(self, p: Position, length: int) -> str:
        """A base64-looking id of ``length`` characters (a multiple of 4), ending in ``=``."""
        head = _b62(self.seal(p))
        # The rest is keyed filler derived from the head, checked on decode.
        filler = hashlib.shake_256(self._key + head.encode()).digest(max(0, length - 9 - len(head))).translate(_FILL)
        return "AAMkA" + head + filler.decode() + "AAA="

    def from_ews(self, value: str, kind: int) -> Position | None:
        if not value.startswith("AAMkA") or len(value) < 5 + _B62_WIDTH + 4:
            return None
        try:
            sealed = _from_b62(value[5 : 5 + _B62_WIDTH])
        except ValueError:
            return None
        found = self.open(sealed) if sealed < (1 << 122) else None
        if found is None or found.kind != kind or self.ews(found, len(value)) != value:
            return None
        return found

    def double_guid(self, p: Position) -> str:
        second = Position(Kind.ONEDRIVE_SECOND, p.a, p.b, p.c, p.d)
        return self.uuid(p) + self.uuid(second)

    def from_double_guid(self, value: str, kind: int) -> Position | None:
        value = value.strip().lower()
        if len(value) != 72:
            return None
        found = self.from_uuid(value[:36], kind)
        return found if found is not None and self.double_guid(found) == value else None

    def channel(self, p: Position) -> str:
        return f"19:{uuid.UUID(self.uuid(p)).hex}@thread.tacv2"

    def from_channel(self, value: str, kind: int) -> Position | None:
        value = value.strip().lower()
        if not (value.startswith("19:") and value.endswith("@thread.tacv2")):
            return None
        try:
            as_uuid = str(uuid.UUID(hex=value[3:-13]))
        except ValueError:
            return None
        return self.from_uuid(as_uuid, kind)


def _b62(value: int) -> str:
    out = []
    for _ in range(_B62_WIDTH):
        value, digit = divmod(value, 62)
        out.append(_ALPHABET[digit])
    return "".join(reversed(out))


def _from_b62(text: str) -> int:
    value = 0
    for ch in text:
        digit = _ALPHABET.find(ch)
        if digit < 0:
            raise ValueError(ch)
        value = value * 62 + digit
    return value
