"""The upstream error family. Messages never carry credentials or tokens.

Each class says, as class attributes, how it is answered and whether it may pass: `http_status` and `code` are
the API's status and envelope code (sessions_app/api/exception_handlers.py reads them), and `retryable` tells
whether the same request may succeed when sent again later, unchanged (a start retried with the same key tries
again only then: sessions_app/services/restore_sessions.py). PortalError (sessions_app/exceptions.py) carries
the same three attributes.
"""
from __future__ import annotations

BODY_EXCERPT_CHARS = 300


class UpstreamError(Exception):
    """Base of every failure talking to VB365."""

    http_status = 502
    code = "upstream_error"
    retryable = False
    default_message = "The VB365 server failed."

    def __init__(self, message: str = "", *, status_code: int | None = None, body: str | None = None,
                 error_code: str | None = None, maybe_processed: bool = False) -> None:
        self.message = message or self.default_message
        self.status_code = status_code
        self.body = body[:BODY_EXCERPT_CHARS] if body else None
        self.error_code = error_code
        # True when the request reached the server but its answer was lost (dropped connection, read timeout,
        # unreadable 2xx body): a write may have happened upstream.
        self.maybe_processed = maybe_processed
        super().__init__(self.message)

    def __str__(self) -> str:
        prefix = f"{self.status_code}: " if self.status_code else ""
        return f"{prefix}{self.message}"


class UpstreamUnavailable(UpstreamError):
    """Network failure, refused connection or 5xx after retries. Safe to try again later."""

    http_status = 503
    code = "upstream_unavailable"
    retryable = True
    default_message = "The VB365 server cannot be reached."


class UpstreamTimeout(UpstreamError):
    """The server did not answer within the configured timeout."""

    http_status = 504
    code = "upstream_timeout"
    retryable = True
    default_message = "The VB365 server did not answer in time."


class UpstreamAuthError(UpstreamError):
    """401/403, or a token grant that was refused.

    Retryable: the credentials, not the request, were refused; once they are fixed (or the tenant has signed in
    again) the same request can succeed.
    """

    code = "upstream_auth"
    retryable = True
    default_message = "The VB365 server refused Restore Desk's credentials."


class UpstreamNotFound(UpstreamError):
    http_status = 404
    code = "upstream_not_found"
    default_message = "The VB365 server does not know this object."


class UpstreamRejected(UpstreamError):
    """Any other 4xx; `message` is the server's own `message` when it sent one. Sent again, it is refused again."""

    code = "upstream_rejected"
    default_message = "The VB365 server rejected the request."


class UpstreamBadResponse(UpstreamError):
    """The server answered, but not with what the contract says (a malformed or cut reply): may pass next time."""

    code = "upstream_bad_response"
    retryable = True
    default_message = "The VB365 server sent a reply Restore Desk cannot read."


def error_class_named(name: str) -> type[UpstreamError] | None:
    """The class of this family whose name is `name` (as a recorded failure keeps it), or None."""
    pending: list[type[UpstreamError]] = [UpstreamError]
    while pending:
        error_class = pending.pop()
        if error_class.__name__ == name:
            return error_class
        pending.extend(error_class.__subclasses__())
    return None
