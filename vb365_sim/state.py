"""In-memory state of the simulated VB365 server: organizations, restore points, sessions, events, tokens.

Everything is deterministic per seed except token strings and the clock. All mutable state lives on
``State`` behind one lock; the pre-existing history is lazy (``history.py``) and only sessions created or
changed through the API are stored. "Now" is read from ``State.clock`` only, so tests move time instead
of sleeping.

Times are integers of microseconds since the Unix epoch (UTC) internally: cheap to compare and to do
arithmetic on, and converted to strings only by the wire modules.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import random
import re
import secrets
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from typing import Any

from vb365_sim.contents import Contents, SessionView
from vb365_sim.history import WORKING_COUNT, History, HistoryItem

US = 1_000_000
HOUR_US = 3600 * US
DAY_US = 24 * HOUR_US
MAX_LIMIT = 10_000
DEFAULT_LIMIT = 30
# A live session gathers at most this many item events, so an abandoned session stays cheap to list.
MAX_LIVE_ITEM_EVENTS = 50
SESSION_TYPES = ("Vex", "Veod", "Vesp", "Vet")
TYPE_LABELS = {"Vex": "Exchange", "Veod": "OneDrive", "Vesp": "SharePoint", "Vet": "Teams"}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


# --- time helpers ------------------------------------------------------------------------------------


def now_us() -> int:
    """The wall clock in epoch microseconds (the default source of ``SimClock``)."""
    return time.time_ns() // 1000


class SimClock:
    """The simulator's "now" in epoch microseconds: a source (the wall clock by default) plus an offset.

    ``advance`` moves time forward for everything the simulator derives from it (token expiry, the
    events of live sessions, end times), so tests never sleep. ``SimClock.frozen(at_us)`` stands still
    until advanced, which makes live-session events exact. Thread-safe.
    """

    def __init__(self, source: Callable[[], int] = now_us) -> None:
        self._source = source
        self._offset_us = 0
        self._lock = threading.Lock()

    @classmethod
    def frozen(cls, at_us: int | None = None) -> SimClock:
        start = now_us() if at_us is None else at_us
        return cls(lambda: start)

    def __call__(self) -> int:
        with self._lock:
            return self._source() + self._offset_us

    @property
    def offset_us(self) -> int:
        with self._lock:
            return self._offset_us

    def advance(self, seconds: float) -> int:
        """Move forward by ``seconds`` (>= 0); returns the new now. Only ``rewind`` goes back."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset_us += round(seconds * US)
            return self._source() + self._offset_us

    def rewind(self) -> None:
        """Drop every ``advance`` (``POST /_sim/reset``, which also forgets everything dated by them)."""
        with self._lock:
            self._offset_us = 0


def iso_z(us: int) -> str:
    """``2017-06-29T07:42:21.191694Z`` -- the response date format of every version.

    Built from ``time.gmtime`` rather than ``datetime`` because a 10,000-row page formats 20,000 dates.
    """
    seconds, micro = divmod(us, US)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{micro:06d}Z"


def iso_offset(us: int) -> str:
    """``2017-06-26T22:07:39+00:00``.

    # Reference: CONTRACT.md §6.2 -- v1 ``pointInTime`` is printed with an offset, not ``Z``.
    """
    return (_EPOCH + timedelta(microseconds=us)).replace(microsecond=0).isoformat()


def rfc1123(us: int) -> str:
    # Inferred: CONTRACT.md §3/§11 -- OWIN-style ".issued"/".expires" ("Mon, 14 Oct 2019 06:53:32 GMT").
    return formatdate(us / US, usegmt=True)


_DATE_RE = re.compile(
    r"^\s*(\d{4})[-.](\d{1,2})[-.](\d{1,2})"
    r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,7}))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?\s*$",
    re.IGNORECASE,
)


def parse_datetime(value: object) -> int:
    """Parse a request date into epoch microseconds; raise ValueError when unparseable.

    Accepted (CONTRACT.md §5, §10 item 5): ``yyyy.MM.dd HH:mm:ss``, ``yyyy-MM-dd HH:mm:ss(.fffffff)``,
    ISO-8601 with ``T`` and ``Z`` or an offset, and a bare date.
    # Inferred: values without a zone are UTC (CONTRACT.md §11 leaves UTC vs server-local open), and the
    # documented ``hh`` of ``yyyy.MM.dd hh:mm:ss`` is read as a 24-hour clock (the examples use 22:07:39).
    """
    if not isinstance(value, str):
        raise ValueError("date must be a string")
    m = _DATE_RE.match(value)
    if not m:
        raise ValueError(f"unrecognised date {value!r}")
    year, month, day, hh, mm, ss, frac, zone = m.groups()
    micro = int((frac or "0").ljust(7, "0")[:6])
    dt = datetime(int(year), int(month), int(day), int(hh or 0), int(mm or 0), int(ss or 0), micro, timezone.utc)
    if zone and zone.upper() != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        dt -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    delta = dt - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


def parse_bool(value: object) -> bool:
    """JSON booleans and their string forms (the PHP portal sends ``"ShowDeleted": "true"``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"not a boolean: {value!r}")


# --- errors ------------------------------------------------------------------------------------------


class SimError(Exception):
    """A failure the API reports with the version's ``RESTExceptionInfo`` body.

    ``error_code`` is the v8 ``errorCode`` name; the HTTP status follows it.
    # Inferred: CONTRACT.md §2 -- ResourceNotFound→404, ParameterValidationFailure→400,
    # ResourceAccessDenied→403, OperationConflict→409 (the spec documents only ``default``).
    """

    def __init__(self, status: int, message: str, error_code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code


def not_found(message: str) -> SimError:
    return SimError(404, message, "ResourceNotFound")


def bad_request(message: str) -> SimError:
    return SimError(400, message, "ParameterValidationFailure")


def json_object_body(raw: bytes) -> dict[str, Any]:
    """A request's JSON object; an empty body (or `null`) is ``{}``, since several operations take none."""
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise bad_request("The request body is not valid JSON.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object.")
    return data


def forbidden(message: str) -> SimError:
    return SimError(403, message, "ResourceAccessDenied")


class TokenError(Exception):
    """A failed grant: answered with OAuth ``{error, error_description}`` and 400 (CONTRACT.md §3)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


# --- configuration and data model --------------------------------------------------------------------


@dataclass(frozen=True)
class SimConfig:
    """Start-up knobs shared by the CLI, ``serve_in_thread`` and ``SimulatorApp``."""

    seed: int = 1
    sessions: int = 200
    latency_ms: int = 0
    token_ttl: int = 3600
    admin_user: str = "admin"
    admin_password: str = "admin"
    # Seconds between the item events a live API-created session gathers.
    event_interval_s: float = 5.0
    build_version: str = "8.0.2.159"
    # Size of the tenants' backed-up contents (contents/sizes.py): small, medium or large.
    content: str = "small"
    # Microseconds a browse answer costs per item it returns or scans (real time, not the SimClock).
    browse_item_latency_us: int = 0
    # Restores and downloads (vb365_sim/restore/desk.py Knobs; run-time changes via /_sim/restore-knobs).
    export_prepare_seconds_per_gib: float = 0.0
    export_bytes_per_second: int = 0
    restore_item_real_seconds: float = 0.0
    restore_item_sim_seconds: float = 0.1
    outlook_installed: bool = True


@dataclass(frozen=True)
class Organization:
    index: int
    id: str
    name: str
    office_name: str
    description: str
    tenant_id: str
    backed_up_organization_id: str
    job_id: str
    repository_id: str
    first_backup_us: int | None
    last_backup_us: int | None
    tenant_username: str | None
    tenant_password: str | None

    @property
    def is_backed_up(self) -> bool:
        return self.last_backup_us is not None


@dataclass(frozen=True)
class RestorePoint:
    id: str
    organization_id: str
    job_id: str
    repository_id: str
    backup_us: int
    etag: int


@dataclass(frozen=True)
class Principal:
    """Who a token belongs to. ``kind`` is ``admin``, ``tenant`` or ``operator``."""

    kind: str
    user_name: str
    organization_id: str | None = None
    user_id: str | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.user_id or self.organization_id or self.user_name.lower()}"


@dataclass
class TokenInfo:
    access_token: str
    refresh_token: str
    principal: Principal
    issued_us: int
    expires_us: int


@dataclass(slots=True)
class SessionRecord:
    """One restore session, whatever its origin (lazy history, override, or created through the API)."""

    id: str
    organization_id: str
    type: str
    creation_us: int
    end_us: int | None
    state: str
    result: str
    name: str
    initiated_by: str
    point_in_time_us: int
    details: str
    scope_name: str | None
    client_host: str | None
    reason: str | None
    etag: int
    owner: str | None
    restore_point_id: str | None
    history_index: int | None
    item_event_cap: int
    event_interval_us: int
    show_deleted: bool = False
    show_all_versions: bool = False


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: str
    order: int
    type: str
    status: str
    start_us: int
    end_us: int | None
    title: str
    message: str
    item_name: str | None = None
    item_type: str | None = None
    item_size: int | None = None
    source: str | None = None
    target: str | None = None
    user_id: str | None = None
    site_id: str | None = None
    team_id: str | None = None


@dataclass(frozen=True)
class SessionQuery:
    """Filters of ``GET /RestoreSessions`` already validated for the version at hand."""

    offset: int = 0
    limit: int = DEFAULT_LIMIT
    start_from: int | None = None
    start_to: int | None = None
    end_from: int | None = None
    end_to: int | None = None
    order_by: str = "CreationTime"
    order_asc: bool = False


@dataclass
class SessionPage:
    records: list[SessionRecord]
    total: int


@dataclass
class Stats:
    requests: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    token_grants: int = 0


# --- organizations and restore points -----------------------------------------------------------------

# (name, officeName, description, backed up, tenant credentials?) -- fixed names so demos read the same
# for every seed; ids, passwords and times come from the seed.
_ORG_BLUEPRINTS = (
    ("contoso.onmicrosoft.com", "Contoso", "Contoso Ltd. (basic-auth tenant)", True, True),
    ("fabrikam.onmicrosoft.com", "Fabrikam", "Fabrikam Inc. (modern app-only auth)", True, False),
    ("northwind.onmicrosoft.com", "Northwind", "Northwind Traders", True, True),
    ("adatum.onmicrosoft.com", "Adatum", "Adatum Corporation (added, never backed up)", False, False),
)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def build_organizations(seed: int, anchor_us: int) -> list[Organization]:
    """The organizations of ``seed``: first backup months ago, last backup a few hours before start."""
    rng = random.Random(f"vb365sim-orgs-{seed}")
    orgs = []
    for index, (name, office, description, backed_up, has_tenant) in enumerate(_ORG_BLUEPRINTS):
        first = last = None
        if backed_up:
            # Whole-second times, like the daily job schedule that produces them.
            last = (anchor_us - (2 + index) * HOUR_US - rng.randrange(0, 3600) * US) // US * US
            first = last - (180 + 20 * index) * DAY_US
        user = password = None
        if has_tenant:
            user = f"restore@{name}"
            password = f"{office}-{rng.randrange(16**6):06x}!"
        orgs.append(
            Organization(
                index=index,
                id=_uuid(rng),
                name=name,
                office_name=office,
                description=description,
                tenant_id=_uuid(rng),
                backed_up_organization_id=_uuid(rng),
                job_id=_uuid(rng),
                repository_id=_uuid(rng),
                first_backup_us=first,
                last_backup_us=last,
                tenant_username=user,
                tenant_password=password,
            )
        )
    return orgs


def build_restore_points(org: Organization) -> list[RestorePoint]:
    """One restore point a day from the first to the last backup, oldest first. Ids are numeric strings.

    # Reference: CONTRACT.md §4.3 -- restore-point ids are strings, not UUIDs.
    """
    if org.first_backup_us is None or org.last_backup_us is None:
        return []
    days = (org.last_backup_us - org.first_backup_us) // DAY_US
    return [
        RestorePoint(
            id=str((org.index + 1) * 100_000 + d),
            organization_id=org.id,
            job_id=org.job_id,
            repository_id=org.repository_id,
            backup_us=org.first_backup_us + d * DAY_US,
            etag=d + 1,
        )
        for d in range(days + 1)
    ]


# --- events --------------------------------------------------------------------------------------------

_USERS = ("adele.vance", "megan.bowen", "lee.gu", "diego.siciliani", "alex.wilber", "nestor.wilke")
_ITEMS = {
    "Vex": (
        ("Message", ("RE: Q3 forecast", "Board meeting minutes", "Invoice 2024-0113", "Contract draft v4")),
        ("Appointment", ("Weekly sync", "Quarterly review")),
    ),
    "Veod": (("File", ("Budget 2024.xlsx", "Roadmap.pptx", "Notes.docx", "Photos.zip")), ("Folder", ("Archive",))),
    "Vesp": (("Document", ("Travel policy.docx", "Onboarding.pdf")), ("ListItem", ("Announcement #12",))),
    "Vet": (("Post", ("Release planning", "Launch retrospective")), ("File", ("Campaign brief.docx",))),
}
_EVENT_TYPES = ("View", "View", "View", "Restore", "Restore", "Export", "Save", "Send")
_VERBS = {"View": "Viewing", "Restore": "Restoring", "Export": "Exporting", "Save": "Saving", "Send": "Sending"}


def _event_id(session_id: str, order: int) -> str:
    digest = hashlib.blake2b(f"{session_id}/{order}".encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest, version=4))


def _item_event(rec: SessionRecord, org: Organization, order: int, now: int) -> EventRecord:
    b = hashlib.blake2b(struct.pack("<H", order) + rec.id.encode(), digest_size=16).digest()
    etype = _EVENT_TYPES[b[0] % len(_EVENT_TYPES)]
    item_type, names = _ITEMS[rec.type][b[1] % len(_ITEMS[rec.type])]
    name = names[b[2] % len(names)]
    user = _USERS[b[3] % len(_USERS)]
    start = rec.creation_us + order * rec.event_interval_us
    end = start + max(US, rec.event_interval_us * (20 + b[4] % 40) // 100)
    running = rec.end_us is None and end > now
    if rec.type == "Vex":
        source = f"{user}@{org.name}/Inbox"
    elif rec.type == "Veod":
        source = f"https://{org.office_name.lower()}-my.sharepoint.com/personal/{user}/Documents"
    elif rec.type == "Vesp":
        source = f"https://{org.office_name.lower()}.sharepoint.com/sites/HR/Shared Documents"
    else:
        source = "Team: Marketing/General"
    target = {"View": None, "Restore": f"{source} (original location)", "Export": f"C:\\Exports\\{user}.pst",
              "Save": f"C:\\Restored\\{name}", "Send": f"{user}@{org.name}"}[etype]
    verb = _VERBS[etype]
    status = "Running" if running else ("Warning" if b[5] % 23 == 0 and rec.history_index is not None else "Success")
    return EventRecord(
        id=_event_id(rec.id, order),
        order=order,
        type=etype,
        status=status,
        start_us=start,
        end_us=None if running else end,
        title=f"{verb} {item_type.lower()}",
        message=f'{verb} {item_type.lower()} "{name}"' + ("" if target is None else f" to {target}"),
        item_name=name,
        item_type=item_type,
        item_size=1024 * (1 + int.from_bytes(b[6:10], "little") % 50_000),
        source=source,
        target=target,
        user_id=None if rec.type in ("Vesp", "Vet") else str(uuid.UUID(bytes=hashlib.md5(user.encode()).digest())),
        site_id=str(uuid.UUID(bytes=hashlib.md5(b"site" + org.id.encode()).digest())) if rec.type == "Vesp" else None,
        team_id=str(uuid.UUID(bytes=hashlib.md5(b"team" + org.id.encode()).digest())) if rec.type == "Vet" else None,
    )


def session_events(rec: SessionRecord, org: Organization, now: int) -> list[EventRecord]:
    """The events of ``rec`` as seen at ``now``, ordered by ``order``.

    Event 0 "Restore session started" is at creation; item events follow every ``event_interval_us`` up
    to the session's cap (none when the session has no backup data); a stopped session ends with
    "Restore session stopped" at ``end_us``. Deterministic per session id and time.
    """
    horizon = rec.end_us if rec.end_us is not None else now
    events = [
        EventRecord(
            id=_event_id(rec.id, 0), order=0, type="None", status="Success", start_us=rec.creation_us,
            end_us=rec.creation_us, title="Restore session started", message="Restore session started",
        )
    ]
    if rec.restore_point_id is not None and rec.event_interval_us > 0:
        n = min(rec.item_event_cap, max(0, (horizon - rec.creation_us) // rec.event_interval_us))
        for order in range(1, n + 1):
            ev = _item_event(rec, org, order, now)
            if rec.end_us is not None and ev.start_us > rec.end_us:
                break
            events.append(ev)
    if rec.end_us is not None:
        events.append(
            EventRecord(
                id=_event_id(rec.id, len(events)), order=len(events), type="None", status="Success",
                start_us=rec.end_us, end_us=rec.end_us, title="Restore session stopped",
                message="Restore session stopped",
            )
        )
    return events


# --- the state ------------------------------------------------------------------------------------------


class State:
    """All simulator state. Public methods are thread-safe; they raise ``SimError``/``TokenError``."""

    def __init__(self, config: SimConfig, *, anchor_us: int | None = None, clock: SimClock | None = None) -> None:
        self.config = config
        self.clock = clock or SimClock()
        self.anchor_us = self.clock() if anchor_us is None else anchor_us
        self.organizations = build_organizations(config.seed, self.anchor_us)
        self.orgs_by_id = {o.id: o for o in self.organizations}
        self.restore_points = {o.id: build_restore_points(o) for o in self.organizations}
        self.points_by_id = {p.id: p for pts in self.restore_points.values() for p in pts}
        self._point_times = {oid: [p.backup_us for p in pts] for oid, pts in self.restore_points.items()}
        rng = random.Random(f"vb365sim-server-{config.seed}")
        self.installation_id = _uuid(rng)
        self.portal_application_id = _uuid(rng)
        self.history = History(
            seed=config.seed,
            count=config.sessions,
            anchor_us=self.anchor_us,
            org_slots=tuple(o.index for o in self.organizations if o.is_backed_up),
        )
        self._id_rng = random.Random(f"vb365sim-ids-{config.seed}")
        self.contents = Contents(seed=config.seed, size=config.content)
        self._lock = threading.Lock()
        self._created: dict[str, SessionRecord] = {}
        self._overrides: dict[int, SessionRecord] = {}
        self._tokens: dict[str, TokenInfo] = {}
        self._refresh: dict[str, TokenInfo] = {}
        self._assertions: dict[str, Principal] = {}
        self.stats = Stats()

    def reset(self) -> None:
        """Back to the state at start: no created or stopped sessions, tokens, assertions or counters,
        and the clock rewound. Organizations, restore points and history are the seed's, as before.

        The session-id generator is not rewound, so an id is never handed out twice by one simulator.
        """
        with self._lock:
            self._created.clear()
            self._overrides.clear()
            self._tokens.clear()
            self._refresh.clear()
            self._assertions.clear()
            self.stats = Stats()
        self.contents.searches.clear()
        self.clock.rewind()

    # --- tokens ---------------------------------------------------------------------------------------

    def _issue(self, principal: Principal) -> TokenInfo:
        issued = self.clock()
        info = TokenInfo(
            # Opaque like the real DPAPI-style blobs (CONTRACT.md §3), not a JWT.
            access_token=secrets.token_urlsafe(96),
            refresh_token=secrets.token_urlsafe(48),
            principal=principal,
            issued_us=issued,
            expires_us=issued + self.config.token_ttl * US,
        )
        with self._lock:
            self._tokens[info.access_token] = info
            self._refresh[info.refresh_token] = info
            self.stats.token_grants += 1
        return info

    def grant_password(self, username: str, password: str) -> TokenInfo:
        """Admin account or an organization's own tenant credentials (CONTRACT.md §3)."""
        if not username:
            raise TokenError("invalid_request", "The username is required.")
        # Windows and Microsoft 365 user names are case-insensitive; passwords are not.
        if username.lower() == self.config.admin_user.lower() and password == self.config.admin_password:
            return self._issue(Principal("admin", username))
        for org in self.organizations:
            if (org.tenant_username and username.lower() == org.tenant_username.lower()
                    and password == org.tenant_password):
                return self._issue(Principal("tenant", org.tenant_username, organization_id=org.id))
        raise TokenError("invalid_grant", "The user name or password is incorrect.")

    def grant_refresh(self, refresh_token: str) -> TokenInfo:
        """A new pair; the refresh token is single-use.

        # Inferred: refresh tokens outlive ``/_sim/expire-tokens`` (only access tokens expire), and a used
        # or unknown refresh token is 400 invalid_grant, not 401 (CONTRACT.md §11 leaves this open).
        """
        with self._lock:
            info = self._refresh.pop(refresh_token, None)
        if info is None:
            raise TokenError("invalid_grant", "The refresh token is invalid or has already been used.")
        return self._issue(info.principal)

    def issue_operator_assertion(self, organization_id: str, user_id: str, user_name: str) -> tuple[str, str]:
        """Stand-in for the Microsoft access token a Restore Portal user gets from MSAL.

        Returns ``(client_id, assertion)`` where ``client_id`` is ``userId.tenantId`` (CONTRACT.md §3).
        """
        org = self.orgs_by_id.get(organization_id.lower())
        if org is None:
            raise not_found(f"Organization {organization_id} was not found.")
        if not user_id or not user_name:
            raise bad_request("user_id and user_name are required.")
        assertion = "eyJ0eXAiOiJKV1QiLCJzaW0iOiJ2YjM2NXNpbSJ9." + secrets.token_urlsafe(64)
        with self._lock:
            self._assertions[assertion] = Principal("operator", user_name, organization_id=org.id, user_id=user_id)
        return f"{user_id}.{org.tenant_id}", assertion

    def grant_operator(self, client_id: str, assertion: str) -> TokenInfo:
        with self._lock:
            principal = self._assertions.get(assertion)
        if principal is None:
            raise TokenError("invalid_grant", "The assertion is invalid or has expired.")
        org = self.orgs_by_id[principal.organization_id or ""]
        if client_id.lower() != f"{principal.user_id}.{org.tenant_id}".lower():
            raise TokenError("invalid_client", "The client_id does not match the assertion (userId.tenantId).")
        return self._issue(principal)

    def grant_jwt_bearer(self, client_id: str, assertion: str) -> TokenInfo:
        """Tenant sign-in with a Microsoft token response (v4+). The simulator checks only its shape.

        # Inferred: any JSON object with an ``access_token`` string is accepted as the assertion, and
        # ``client_id`` may be the tenant id, the organization name or the organization id.
        """
        import json

        try:
            doc = json.loads(assertion)
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or not isinstance(doc.get("access_token"), str):
            raise TokenError("invalid_grant", "The assertion must be a JSON document with an access token.")
        wanted = client_id.lower()
        for org in self.organizations:
            if wanted in (org.tenant_id, org.name.lower(), org.id):
                return self._issue(Principal("tenant", f"admin@{org.name}", organization_id=org.id))
        raise TokenError("invalid_client", "Unknown tenant.")

    def authenticate(self, access_token: str) -> Principal | None:
        """The principal of a live access token, or None when unknown or expired."""
        with self._lock:
            info = self._tokens.get(access_token)
        if info is None or info.expires_us <= self.clock():
            return None
        return info.principal

    def expire_tokens(self) -> int:
        """Make every issued access token expire now; returns how many were live."""
        t = self.clock()
        n = 0
        with self._lock:
            for info in self._tokens.values():
                if info.expires_us > t:
                    n += 1
                    info.expires_us = t
        return n

    def revoke(self, access_token: str) -> None:
        """Forget an access token (``POST /Token/logout``); unknown tokens are ignored."""
        with self._lock:
            self._tokens.pop(access_token, None)

    # --- stats ----------------------------------------------------------------------------------------

    def count_request(self, key: str) -> None:
        with self._lock:
            self.stats.requests[key] = self.stats.requests.get(key, 0) + 1

    def count_status(self, status: int) -> None:
        with self._lock:
            self.stats.statuses[str(status)] = self.stats.statuses.get(str(status), 0) + 1

    def stats_snapshot(self) -> dict[str, object]:
        with self._lock:
            s = self.stats
            return {"requests": dict(s.requests), "statuses": dict(s.statuses), "token_grants": s.token_grants}

    def reset_stats(self) -> None:
        with self._lock:
            self.stats = Stats()

    # --- organizations --------------------------------------------------------------------------------

    def organization(self, organization_id: str) -> Organization:
        org = self.orgs_by_id.get(organization_id.lower())
        if org is None:
            raise not_found(f"Organization with ID {organization_id} was not found.")
        return org

    def principal_organization(self, principal: Principal) -> Organization:
        if principal.kind == "admin" or principal.organization_id is None:
            raise forbidden("This operation is available to organization accounts only.")
        return self.orgs_by_id[principal.organization_id]

    # --- restore points -------------------------------------------------------------------------------

    def point_for(self, org: Organization, pit_us: int) -> RestorePoint | None:
        """The latest restore point at or before ``pit_us``; the newest one for later times; None before the first."""
        points = self.restore_points[org.id]
        i = bisect.bisect_right(self._point_times[org.id], pit_us)
        return points[i - 1] if i else None

    # --- sessions -------------------------------------------------------------------------------------

    def _from_history(self, item: HistoryItem) -> SessionRecord:
        org = self.organizations[item.org_slot]
        point = self.point_for(org, item.point_in_time_us)
        duration = (item.end_us or item.creation_us) - item.creation_us
        cap = item.item_events if item.end_us is not None else MAX_LIVE_ITEM_EVENTS
        interval = max(US, duration // (cap + 1)) if item.end_us is not None else int(self.config.event_interval_s * US)
        return SessionRecord(
            id=item.id,
            organization_id=org.id,
            type=item.type,
            creation_us=item.creation_us,
            end_us=item.end_us,
            state="Working" if item.end_us is None else "Stopped",
            result=item.result,
            name=f"{TYPE_LABELS[item.type]} restore session ({org.name})",
            initiated_by=item.initiated_by,
            point_in_time_us=item.point_in_time_us,
            details="" if item.result == "Success" else "Some items could not be processed.",
            scope_name=None,
            client_host=item.client_host,
            reason=None,
            etag=2 if item.end_us is not None else 1,
            owner=None,
            restore_point_id=point.id if point else None,
            history_index=item.index,
            item_event_cap=cap,
            event_interval_us=interval,
        )

    def _history_record(self, i: int) -> SessionRecord:
        return self._overrides.get(i) or self._from_history(self.history.item(i))

    @staticmethod
    def _visible(rec: SessionRecord, principal: Principal) -> bool:
        # Reference: CONTRACT.md §6.1 -- "all restore sessions created under the current logon credentials";
        # tenants see their organization's sessions, operators the ones they started, admins everything.
        if principal.kind == "admin":
            return True
        if principal.kind == "tenant":
            return rec.organization_id == principal.organization_id
        return rec.owner == principal.key

    def start_session(
        self,
        *,
        principal: Principal,
        org: Organization,
        session_type: str,
        point_in_time_us: int | None,
        show_deleted: bool,
        show_all_versions: bool,
        client_host: str | None,
        scope_name: str | None = None,
        reason: str | None = None,
    ) -> SessionRecord:
        """Create a Working session. Never fails for out-of-range dates (CONTRACT.md §5.1).

        A time before the first backup (or an organization never backed up) gives a session without
        data; a later time than the last backup browses the newest restore point.
        # Inferred: a point in time in the future is accepted like "after the last backup".
        # Inferred: a missing ``datetime`` means "now", i.e. the newest restore point.
        """
        created = self.clock()
        pit = created if point_in_time_us is None else point_in_time_us
        point = self.point_for(org, pit)
        if point is None:
            details = "No backup data found for the specified point in time."
        else:
            details = f"Restore point {point.id} ({iso_z(point.backup_us)})."
        with self._lock:
            sid = str(uuid.UUID(int=self._id_rng.getrandbits(128), version=4))
            rec = SessionRecord(
                id=sid,
                organization_id=org.id,
                type=session_type,
                creation_us=created,
                end_us=None,
                state="Working",
                result="Success",
                name=f"{TYPE_LABELS[session_type]} restore session ({org.name})",
                initiated_by=principal.user_name,
                point_in_time_us=pit,
                details=details,
                scope_name=scope_name,
                client_host=client_host,
                reason=reason,
                etag=1,
                owner=principal.key,
                restore_point_id=point.id if point else None,
                history_index=None,
                item_event_cap=MAX_LIVE_ITEM_EVENTS,
                event_interval_us=max(1, int(self.config.event_interval_s * US)),
                show_deleted=show_deleted,
                show_all_versions=show_all_versions,
            )
            self._created[sid] = rec
        return replace(rec)

    def get_session(self, session_id: str, principal: Principal) -> SessionRecord:
        """The session, if the principal may see it.

        # Inferred: someone else's session is 404, not 403 (CONTRACT.md §11), so ids do not leak.
        """
        key = session_id.lower()
        with self._lock:
            rec = self._created.get(key)
            if rec is not None:
                rec = replace(rec)
        if rec is None:
            i = self.history.index_of(key)
            if i is not None:
                with self._lock:
                    rec = self._history_record(i)
        if rec is None or not self._visible(rec, principal):
            raise not_found(f"Restore session with ID {session_id} was not found.")
        return rec

    def stop_session(self, session_id: str, principal: Principal) -> SessionRecord:
        """Stop a Working session: ``state`` Stopped, ``endTime`` now, ``eTag`` bumped.

        # Inferred: stopping a stopped session is 409 OperationConflict (CONTRACT.md §8 leaves it open).
        """
        rec = self.get_session(session_id, principal)
        with self._lock:
            current = self._created.get(rec.id)
            if current is None and rec.history_index is not None:
                current = self._history_record(rec.history_index)
            assert current is not None
            if current.state == "Stopped":
                raise SimError(409, f"Restore session {rec.id} is already stopped.", "OperationConflict")
            current.state = "Stopped"
            current.end_us = max(self.clock(), current.creation_us + 1)
            current.etag += 1
            if current.history_index is not None:
                self._overrides[current.history_index] = current
            return replace(current)

    def session_view(self, rec: SessionRecord) -> SessionView:
        """What ``rec`` browses: its organization's contents at its restore point's backup time.

        # Inferred: a restore point shows the contents as its backup saw them, so the point in time that
        # decides what exists is the backup time of the point the session opened, not the requested time.
        """
        org = self.orgs_by_id[rec.organization_id]
        point = self.points_by_id.get(rec.restore_point_id or "")
        contents = self.contents.organization(
            org_id=org.id, org_name=org.name, office_name=org.office_name,
            first_backup_us=org.first_backup_us or self.anchor_us, last_backup_us=org.last_backup_us or self.anchor_us,
        )
        return SessionView(rec.id, contents, point.backup_us if point else None, rec.show_deleted,
                           rec.show_all_versions)

    def events(self, rec: SessionRecord) -> list[EventRecord]:
        return session_events(rec, self.orgs_by_id[rec.organization_id], self.clock())

    # --- listing --------------------------------------------------------------------------------------

    def list_sessions(self, principal: Principal, q: SessionQuery) -> SessionPage:
        """One page of the sessions visible to ``principal``, filtered and ordered as ``q`` says.

        Explicit records (API-created, overridden history, working history) are few and are filtered in
        full; the lazy stopped history is addressed by index arithmetic, so a page of a million-session
        history costs O(limit + log n). The two ordered sequences are merged by rank.
        """
        h = self.history
        by_end = q.order_by == "EndTime"
        with self._lock:
            explicit = [replace(r) for r in self._created.values()]
            explicit += [replace(r) for r in self._overrides.values()]
            overridden = set(self._overrides)
        explicit += [self._from_history(h.item(i)) for i in range(min(WORKING_COUNT, h.count)) if i not in overridden]
        explicit = [r for r in explicit if self._visible(r, principal) and _matches(r, q)]

        def key(r: SessionRecord) -> tuple[int, int, int]:
            if by_end:
                return (0 if r.end_us is None else 1, r.end_us or 0, r.creation_us)
            return (1, r.creation_us, r.creation_us)

        explicit.sort(key=key, reverse=not q.order_asc)

        # The lazy part: stopped, non-overridden history visible to the principal.
        if principal.kind == "operator":
            lo, hi, slot = 0, 0, None
        else:
            slot = None if principal.kind == "admin" else self.orgs_by_id[principal.organization_id or ""].index
            lo, hi = _lazy_bounds(h, q)
        excluded = sorted(i for i in overridden if lo <= i < hi and h.matches(i, slot))
        lazy_total = h.count_matching(lo, hi, slot) - len(excluded)

        def lazy_count(a: int, b: int) -> int:
            a, b = max(a, lo), min(b, hi)
            if b <= a:
                return 0
            return h.count_matching(a, b, slot) - (bisect.bisect_left(excluded, b) - bisect.bisect_left(excluded, a))

        ranks = []
        for r in explicit:
            t = r.end_us if by_end else r.creation_us
            fn = h.end_us if by_end else h.creation_us
            if t is None:
                ranks.append(0 if q.order_asc else lazy_total)
                continue
            if q.order_asc:
                # Lazy items strictly older come first; they sit at indexes >= b.
                b = h.first_index(lo, hi, _before(fn, t))
                ranks.append(lazy_count(b, hi))
            else:
                b = h.first_index(lo, hi, _before(fn, t, inclusive=True))
                ranks.append(lazy_count(lo, b))
        positions = [j + r for j, r in enumerate(ranks)]
        total = len(explicit) + lazy_total
        start, stop = q.offset, min(q.offset + q.limit, total)
        j = bisect.bisect_left(positions, start)
        lazy_iter = _lazy_walk(h, lo, hi, slot, excluded, start - j, lazy_total, q.order_asc)
        out: list[SessionRecord] = []
        for pos in range(start, stop):
            if j < len(explicit) and positions[j] == pos:
                out.append(explicit[j])
                j += 1
            else:
                out.append(self._from_history(h.item(next(lazy_iter))))
        return SessionPage(out, total)


def _matches(r: SessionRecord, q: SessionQuery) -> bool:
    # Inferred: time filters are inclusive at both ends; any end-time filter excludes sessions without one.
    if q.start_from is not None and r.creation_us < q.start_from:
        return False
    if q.start_to is not None and r.creation_us > q.start_to:
        return False
    if q.end_from is not None or q.end_to is not None:
        if r.end_us is None:
            return False
        if q.end_from is not None and r.end_us < q.end_from:
            return False
        if q.end_to is not None and r.end_us > q.end_to:
            return False
    return True


def _before(time_of: Callable[[int], int | None], moment: int, *, inclusive: bool = False) -> Callable[[int], bool]:
    """The predicate "session i's time (creation or end) is before `moment`" (or at it), for History.first_index.

    Only stopped sessions are searched, so their end is never None; a None would be "not before"."""
    def predicate(i: int) -> bool:
        value = time_of(i)
        return value is not None and (value <= moment if inclusive else value < moment)

    return predicate


def _lazy_bounds(h: History, q: SessionQuery) -> tuple[int, int]:
    """Index range [lo, hi) of the stopped history that satisfies the time filters (times decrease with i)."""
    lo, hi = min(WORKING_COUNT, h.count), h.count
    if q.start_from is not None:
        hi = h.first_index(lo, hi, _before(h.creation_us, q.start_from))
    if q.start_to is not None:
        lo = h.first_index(lo, hi, _before(h.creation_us, q.start_to, inclusive=True))
    if q.end_from is not None:
        hi = h.first_index(lo, hi, _before(h.end_us, q.end_from))
    if q.end_to is not None:
        lo = h.first_index(lo, hi, _before(h.end_us, q.end_to, inclusive=True))
    return lo, max(lo, hi)


def _lazy_walk(
    h: History, lo: int, hi: int, slot: int | None, excluded: list[int], n: int, total: int, ascending_time: bool
) -> Iterator[int]:
    """History indexes of the lazy sequence from ordered position ``n`` on.

    Newest-first order is increasing index; oldest-first is decreasing index.
    """
    if n >= total:
        return
    skip = set(excluded)
    target = (total - 1 - n) if ascending_time else n
    i = h.nth_matching(lo, target, slot)
    while True:  # least fixed point: account for excluded indexes at or before i
        k = bisect.bisect_right(excluded, i)
        nxt = h.nth_matching(lo, target + k, slot)
        if nxt == i:
            break
        i = nxt
    step = -1 if ascending_time else 1
    while lo <= i < hi:
        if i not in skip and h.matches(i, slot):
            yield i
        i += step
