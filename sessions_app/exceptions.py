"""Business-rule refusals. Each carries an operator-safe message, a stable code and an HTTP status for the API."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ORGANIZATION_NEVER_BACKED_UP = "This organization has never been backed up, so there is nothing to restore."
POINT_IN_TIME_IN_FUTURE = "The point in time is in the future. Choose a past moment or the latest backup."
WORKLOAD_NOT_SUPPORTED = "The configured VB365 API version (v{version}) cannot explore {workload}."
WORKLOAD_NOT_GRANTED = "You may not restore {workload} data of this organization."
REASON_REQUIRED = "Give a reason for this restore."
SESSION_ALREADY_STOPPED = "This restore session has already stopped."
START_IN_PROGRESS = "This submission is still being started. Wait a moment and reload."
IDEMPOTENCY_KEY_REUSED = "This Idempotency-Key was already used for a different request."
ON_BEHALF_REQUIRES_TICKET = "A ticket reference is required when starting a session on behalf of someone."
ON_BEHALF_NOT_ALLOWED = "You may not start sessions on behalf of other users."
ON_BEHALF_NOT_ELIGIBLE = ("A session can be started on behalf of someone who may start sessions in this organization "
                          "(an operator with access to it, or one of its own users), never yourself.")
NOT_ALLOWED = "You do not have permission to do this."
START_OUTCOME_UNKNOWN = (
    "VB365 did not answer this start, and another start for the same organization and workload was made at "
    "the same time, so Restore Desk cannot tell which new session is yours. Check the session list before you "
    "start again; your reason is kept.")


@dataclass(frozen=True)
class Refusal:
    """What a refused request asked for, as the audit trail records it (services.refusals).

    The raiser fills in what it knows; the page or API that answers fills in a blank `operation` with its own
    ("session.view", "session.stop", ...), so one service refusal is named by the request that met it.
    """

    operation: str = ""
    target: str = ""
    organization: Any = None  # Organization | None; Any keeps this module free of model imports
    workload: str = ""
    session_upstream_id: str = ""
    why: str = ""


class PortalError(Exception):
    """A request Restore Desk refuses on its own rules (not an upstream failure).

    `refusal` is set when the refusal is one of access (outside the user's grants or role): the page or API
    that answers records it in the audit trail. Like the upstream errors (sessions_app/upstream/errors.py),
    each class carries its API status, envelope code and retry policy: sent again unchanged, a refusal by the
    portal's own rules is refused again.
    """

    http_status = 400
    code = "invalid"
    retryable = False

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None, refusal: Refusal | None = None) -> None:
        self.message = message
        self.extra = extra or {}
        self.refusal = refusal
        super().__init__(message)


class StartRefused(PortalError):
    code = "start_refused"


class NotVisible(PortalError):
    """Outside the user's grants: answered as 404 so that ids cannot be probed."""

    http_status = 404
    code = "not_found"


class NotAllowed(PortalError):
    http_status = 403
    code = "permission_denied"


class Conflict(PortalError):
    http_status = 409
    code = "conflict"


class SessionAlreadyStopped(Conflict):
    code = "already_stopped"


class SessionStopped(Conflict):
    """The session has stopped, so its contents can no longer be browsed or acted on (a new one must start)."""

    code = "session_stopped"


class IdempotencyKeyReused(Conflict):
    """The key of an earlier start came with a different request: nothing is started or replayed."""

    code = "idempotency_key_reused"


class TooManyAttempts(PortalError):
    http_status = 429
    code = "throttled"


class StartFailed(PortalError):
    """The upstream refused or failed an earlier attempt with this submission; `extra` holds its error."""

    http_status = 502
    code = "start_failed"


class StartOutcomeUnknown(StartFailed):
    """The answer to a start was lost and the session VB365 created cannot be told apart from another
    start's: nothing is adopted, and a retry with the same key replays this refusal. `candidate_sessions`
    (upstream ids) are for the audit trail only: they may be other people's sessions."""

    code = "start_outcome_unknown"

    def __init__(self, message: str, *, candidate_sessions: list[str], extra: dict[str, Any] | None = None) -> None:
        super().__init__(message, extra=extra)
        self.candidate_sessions = candidate_sessions


def is_cache_outage(exc: BaseException) -> bool:
    """The shared cache (Redis) could not be reached: refused, reset or timed out."""
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # no Redis client installed: no Redis cache either
        return False
    return isinstance(exc, (RedisConnectionError, RedisTimeoutError))
