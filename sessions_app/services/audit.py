"""The one audit writer, the chain check, and checkpoints of the chain outside the database.

Each event's `hash` is an HMAC, keyed with AUDIT_CHAIN_KEY, over the hash of the event before it and a
canonical form of the event's fields. The key never enters the database, so someone who has only the
database (its runtime role, a dump, a backup) cannot change, reorder or add an event without
`python manage.py audit_verify` finding it. A new key starts a new segment, opened by an AUDIT_KEY_CHANGE
event; earlier keys (AUDIT_CHAIN_OLD_KEYS) verify the segments they signed.

Removing events leaves a chain that is still whole up to its new end; checkpoints reveal that. Every
AUDIT_CHECKPOINT_EVERY events, and on `manage.py audit_checkpoint`, the chain head (sequence, hash, key id,
time) is appended to a JSON-lines file and, when configured, sent to syslog: places the database role
cannot reach. `audit_verify` compares the table with them.

No other code creates AuditEvent rows.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import timezone as dt_timezone
from logging.handlers import SysLogHandler
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.utils import timezone

from sessions_app.models import AuditAction, AuditEvent, AuditOutcome, Organization
from sessions_app.prepared import PreparedInsert

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
KEY_ID_LABEL = b"restore-desk audit key id"
# The key of the transaction-level advisory lock that serialises writers on PostgreSQL ("rdaudit" in ASCII).
CHAIN_LOCK_ID = 0x72_64_61_75_64_69_74
# The fields covered by the hash, in the canonical form's order.
CHAINED_FIELDS = (
    "sequence", "created_at", "actor_id", "actor_username", "on_behalf_of_username", "action", "outcome",
    "organization_id", "organization_name", "workload", "session_upstream_id", "reason", "scope", "ticket",
    "client_address", "details", "key_id",
)
AUDIT_CHAIN_KEY_MISSING = ("AUDIT_CHAIN_KEY is not set, so the audit trail cannot be signed. Set it to a long "
                           "random value, different from DJANGO_SECRET_KEY (README: Audit keys).")
KEY_CHANGE_REASON = "The audit chain key changed: a new segment of the chain starts here."
SYSLOG_PRIORITY = (SysLogHandler.LOG_AUTHPRIV << 3) | SysLogHandler.LOG_INFO
SYSLOG_TAG = "restore-desk-audit"


def audit_key_id(key: str) -> str:
    """A public fingerprint of `key` (16 hex digits), stored with each event it signs."""
    return hmac.new(key.encode(), KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def audit_keys() -> dict[str, str]:
    """The configured keys (AUDIT_CHAIN_KEY, then AUDIT_CHAIN_OLD_KEYS) by key id."""
    keys = [settings.AUDIT_CHAIN_KEY, *settings.AUDIT_CHAIN_OLD_KEYS]
    return {audit_key_id(key): key for key in keys if key}


def canonical_form(event: AuditEvent) -> bytes:
    values = {name: getattr(event, name) for name in CHAINED_FIELDS}
    values["created_at"] = event.created_at.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def chain_hash(previous_hash: str, event: AuditEvent, *, key: str) -> str:
    return hmac.new(key.encode(), previous_hash.encode() + b"\n" + canonical_form(event), hashlib.sha256).hexdigest()


def audit_event_record(
    *,
    action: AuditAction,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    actor_username: str = "",
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
    organization: Organization | None = None,
    workload: str = "",
    session_upstream_id: str = "",
    reason: str = "",
    scope: str = "",
    ticket: str = "",
    on_behalf_of_username: str = "",
    client_address: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain and return it.

    Safe under concurrent writers: each takes the chain's lock (a transaction-level advisory lock on
    PostgreSQL; on SQLite the write lock that BEGIN IMMEDIATE took) before it reads the newest event, so the
    database role needs only SELECT and INSERT on the table. Inside a caller's transaction it adds no
    savepoint: the event commits, or rolls back, with the caller's writes, and a rolled-back event leaves no
    gap; the lock is held until that commit, so callers write their event last. When the newest event was
    signed with another key, an AUDIT_KEY_CHANGE event is appended first. Every AUDIT_CHECKPOINT_EVERY events
    a checkpoint is written once the transaction commits.

    Raises ImproperlyConfigured when AUDIT_CHAIN_KEY is not set.
    """
    key = settings.AUDIT_CHAIN_KEY
    if not key:
        raise ImproperlyConfigured(AUDIT_CHAIN_KEY_MISSING)
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    event = AuditEvent(
        actor_id=user.pk if user is not None else None,
        actor_username=(user.get_username() if user is not None else actor_username)[:150],
        on_behalf_of_username=on_behalf_of_username[:150],
        action=action,
        outcome=outcome,
        organization_id=str(organization.upstream_id) if organization else "",
        organization_name=organization.name if organization else "",
        workload=workload,
        session_upstream_id=session_upstream_id,
        reason=reason,
        scope=scope,
        ticket=ticket[:128],
        client_address=client_address[:64],
        details=_jsonable(details or {}),
    )
    key_id = audit_key_id(key)
    with transaction.atomic(savepoint=False):
        _take_chain_lock()
        newest = audit_chain_head()
        sequence, previous_hash, previous_key_id = (
            (newest.sequence, newest.hash, newest.key_id) if newest else (0, GENESIS_HASH, ""))
        newest_sequence = sequence
        if previous_key_id and previous_key_id != key_id:
            sequence += 1
            change = AuditEvent(action=AuditAction.AUDIT_KEY_CHANGE, reason=KEY_CHANGE_REASON,
                                details={"previous_key_id": previous_key_id, "key_id": key_id})
            _link_and_insert(change, sequence=sequence, previous_hash=previous_hash, key=key)
            previous_hash = change.hash
        _link_and_insert(event, sequence=sequence + 1, previous_hash=previous_hash, key=key)
        every = settings.AUDIT_CHECKPOINT_EVERY
        if every > 0 and event.sequence // every > newest_sequence // every:
            head = ChainHead(event.sequence, event.hash, event.key_id)
            transaction.on_commit(lambda: _checkpoint_quietly(head))
    return event


def _take_chain_lock() -> None:
    """Serialise writers until the transaction ends. PostgreSQL's READ COMMITTED (Django's default) gives the
    next statement, the read of the newest event, a snapshot taken after the lock was granted."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_ID])
    elif connection.settings_dict.get("OPTIONS", {}).get("transaction_mode") != "IMMEDIATE":
        # A deferred SQLite transaction would read the newest event before it holds the write lock.
        raise ImproperlyConfigured("The audit trail needs SQLite with transaction_mode IMMEDIATE "
                                   "(portal.settings.sqlite_for_concurrency).")


def _link_and_insert(event: AuditEvent, *, sequence: int, previous_hash: str, key: str) -> None:
    event.sequence = sequence
    event.previous_hash = previous_hash
    event.key_id = audit_key_id(key)
    event.created_at = timezone.now()
    event.hash = chain_hash(previous_hash, event, key=key)
    _EVENT_INSERT.insert(event)


# Every audited action appends (prepared.py says why the INSERT is compiled once).
_EVENT_INSERT = PreparedInsert(AuditEvent)


@dataclass(frozen=True)
class ChainHead:
    sequence: int
    hash: str
    key_id: str


@dataclass(frozen=True)
class Checkpoint:
    """The chain head as it was at `time` (ISO 8601, UTC): one line of the checkpoint file."""

    sequence: int
    hash: str
    key_id: str
    time: str


def audit_chain_head() -> ChainHead | None:
    """The newest event's link; None while the trail is empty."""
    # In SQL: every audited action reads the head, and compiling the ORM's query takes longer than running it.
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quote('sequence')}, {quote('hash')}, {quote('key_id')} "
                       f"FROM {quote(AuditEvent._meta.db_table)} ORDER BY {quote('sequence')} DESC LIMIT 1")
        newest = cursor.fetchone()
    return ChainHead(*newest) if newest else None


def audit_checkpoint_write(*, head: ChainHead) -> Checkpoint:
    """Append a checkpoint of `head` to AUDIT_CHECKPOINT_PATH (one write of one JSON line, O_APPEND; the file
    and its folder are created on demand), then send it to AUDIT_CHECKPOINT_SYSLOG when that is set.

    Raises OSError (or ValueError for a malformed syslog address) when either cannot be written.
    """
    checkpoint = Checkpoint(head.sequence, head.hash, head.key_id,
                            timezone.now().astimezone(dt_timezone.utc).isoformat(timespec="microseconds"))
    line = json.dumps(asdict(checkpoint), sort_keys=True, separators=(",", ":"))
    path = Path(settings.AUDIT_CHECKPOINT_PATH)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(descriptor, (line + "\n").encode())
    finally:
        os.close(descriptor)
    if settings.AUDIT_CHECKPOINT_SYSLOG:
        _syslog_send(settings.AUDIT_CHECKPOINT_SYSLOG, line)
    return checkpoint


def _checkpoint_quietly(head: ChainHead) -> None:
    """After a commit: the request whose event was just committed must not fail because of its checkpoint."""
    try:
        audit_checkpoint_write(head=head)
    except Exception:
        logger.exception("Audit checkpoint of event #%s could not be written", head.sequence)


def _syslog_send(address: str, line: str) -> None:
    """One datagram to a local socket ("/dev/log") or a UDP "host:port" ("[::1]:514" for IPv6)."""
    message = f"<{SYSLOG_PRIORITY}>{SYSLOG_TAG}: {line}".encode()
    if address.startswith("/"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(message, address)
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"AUDIT_CHECKPOINT_SYSLOG must be a socket path or host:port, not {address!r}")
    family, kind, protocol, _, target = socket.getaddrinfo(host.strip("[]"), int(port), type=socket.SOCK_DGRAM)[0]
    with socket.socket(family, kind, protocol) as sock:
        sock.sendto(message, target)


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_bad_sequence: int | None
    problem: str
    key_ids: tuple[str, ...] = ()  # the keys of the chain's segments, oldest first
    checkpoints_compared: int = 0
    newest_checkpoint: Checkpoint | None = None
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.first_bad_sequence is None


def audit_chain_verify(*, checkpoint_paths: Sequence[Path] | None = None) -> ChainReport:
    """Walk the chain in sequence order, each segment with its key, comparing it with the checkpoints (read
    from `checkpoint_paths`, by default AUDIT_CHECKPOINT_PATH). Reports the first event that is missing, does
    not match its link or its checkpoint, or was signed with a key that is not configured; and events that
    checkpoints record beyond the table's end."""
    checkpoints, warnings = _checkpoints_read(checkpoint_paths or [Path(settings.AUDIT_CHECKPOINT_PATH)])
    by_sequence: dict[int, list[Checkpoint]] = {}
    for checkpoint in checkpoints:
        by_sequence.setdefault(checkpoint.sequence, []).append(checkpoint)
    newest_checkpoint = max(checkpoints, key=lambda c: c.time, default=None)
    keys = audit_keys()
    key_ids: list[str] = []
    previous: AuditEvent | None = None
    checked = 0

    def report(first_bad_sequence: int | None, problem: str = "") -> ChainReport:
        return ChainReport(checked, first_bad_sequence, problem, tuple(key_ids), len(checkpoints), newest_checkpoint,
                           tuple(warnings))

    events: Iterable[AuditEvent] = AuditEvent.objects.order_by("sequence").iterator(chunk_size=2000)
    for event in events:
        expected_sequence = previous.sequence + 1 if previous else 1
        if event.sequence != expected_sequence:
            return report(expected_sequence,
                          f"event #{expected_sequence} is missing (the next one is #{event.sequence})")
        problem = (_link_problem(event, previous, keys)
                   or _checkpoint_problem(event, by_sequence.get(event.sequence, [])))
        if problem:
            return report(event.sequence, problem)
        if not key_ids or key_ids[-1] != event.key_id:
            key_ids.append(event.key_id)
        previous = event
        checked += 1
    beyond = [checkpoint for checkpoint in checkpoints if checkpoint.sequence > checked]
    if beyond:
        latest = max(beyond, key=lambda c: c.sequence)
        return report(checked + 1, f"the table ends at event #{checked}, but the checkpoint of {latest.time} records "
                                   f"event #{latest.sequence} (events removed, or the table truncated)")
    return report(None)


def _link_problem(event: AuditEvent, previous: AuditEvent | None, keys: dict[str, str]) -> str:
    key = keys.get(event.key_id)
    if key is None:
        return (f"it is signed with key {event.key_id or '(none)'}, which is neither AUDIT_CHAIN_KEY nor one of "
                "AUDIT_CHAIN_OLD_KEYS, so it cannot be verified")
    if event.previous_hash != (previous.hash if previous else GENESIS_HASH):
        return "its previous-hash does not match the event before it"
    if event.hash != chain_hash(event.previous_hash, event, key=key):
        return "its content does not match its hash (modified, or signed without the key)"
    if previous is not None and previous.key_id != event.key_id and not (
            event.action == AuditAction.AUDIT_KEY_CHANGE
            and event.details == {"previous_key_id": previous.key_id, "key_id": event.key_id}):
        return "the key changes here without an audit-key-change event"
    return ""


def _checkpoint_problem(event: AuditEvent, checkpoints: list[Checkpoint]) -> str:
    for checkpoint in checkpoints:
        if (checkpoint.hash, checkpoint.key_id) != (event.hash, event.key_id):
            return f"it does not match the checkpoint of {checkpoint.time} (the event was rewritten or replaced)"
    return ""


def _checkpoints_read(paths: Sequence[Path]) -> tuple[list[Checkpoint], list[str]]:
    """Every checkpoint in `paths`, and a warning for each file or line that cannot be read. A line may carry
    a prefix before its JSON object (as syslog adds), so that checkpoints collected from syslog compare too."""
    checkpoints: list[Checkpoint] = []
    warnings: list[str] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            warnings.append(f"no checkpoints read from {path}: {exc.strerror or exc}")
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line[line.index("{"):])
                checkpoints.append(Checkpoint(int(data["sequence"]), str(data["hash"]), str(data["key_id"]),
                                              str(data["time"])))
            except (ValueError, KeyError, TypeError):
                warnings.append(f"{path}, line {number}: not a checkpoint")
    return checkpoints, warnings


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    """Round-trip through JSON so that the hashed form equals what the database gives back; without NUL
    characters, which PostgreSQL's jsonb cannot hold (request data that reached here made a 500)."""
    return _without_nul(json.loads(json.dumps(details, default=str)))  # type: ignore[no-any-return]


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value
