"""The upstream error family. Messages never carry credentials or tokens."""
from __future__ import annotations

BODY_EXCERPT_CHARS = 300


class UpstreamError(Exception):
    """Base of every failure talking to VB365."""

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

    retryable = True
    default_message = "The VB365 server cannot be reached."


class UpstreamTimeout(UpstreamError):
    """The server did not answer within the configured timeout."""

    retryable = True
    default_message = "The VB365 server did not answer in time."


class UpstreamAuthError(UpstreamError):
    """401/403, or a token grant that was refused."""

    default_message = "The VB365 server refused Restore Desk's credentials."


class UpstreamNotFound(UpstreamError):
    default_message = "The VB365 server does not know this object."


class UpstreamRejected(UpstreamError):
    """Any other 4xx; `message` is the server's own `message` when it sent one."""

    default_message = "The VB365 server rejected the request."


class UpstreamBadResponse(UpstreamError):
    """The server answered, but not with what the contract says."""

    default_message = "The VB365 server sent a reply Restore Desk cannot read."
