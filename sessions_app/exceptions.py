"""Business-rule refusals. Each carries an operator-safe message, a stable code and an HTTP status for the API."""
from __future__ import annotations

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
NOT_ALLOWED = "You do not have permission to do this."


class PortalError(Exception):
    """A request Restore Desk refuses on its own rules (not an upstream failure)."""

    http_status = 400
    code = "invalid"

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        self.message = message
        self.extra = extra or {}
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


class TooManyAttempts(PortalError):
    http_status = 429
    code = "throttled"


class StartFailed(PortalError):
    """The upstream refused or failed an earlier attempt with this submission; `extra` holds its error."""

    http_status = 502
    code = "start_failed"
