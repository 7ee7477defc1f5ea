"""Request-wide concerns: the viewer's time zone, a request id for logs, and the content security policy.

Time zone: the profile's choice, else the browser's (a cookie set by portal.js), else TIME_ZONE.
"""
from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
import zoneinfo
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_cache_control

from sessions_app.exceptions import is_cache_outage
from sessions_app.http import client_address

logger = logging.getLogger(__name__)

TIME_ZONE_COOKIE = "tz"
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    if not name or len(name) > 64:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class UserTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            profile = getattr(user, "profile", None) if hasattr(user, "profile") else None
            zone = _zone(profile.time_zone) if profile is not None else None
        zone = zone or _zone(request.COOKIES.get(TIME_ZONE_COOKIE, ""))
        if zone is not None:
            timezone.activate(zone)
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
# The request being answered, for the client address of its log lines: worked out only when a line is written.
_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar("request", default=None)
REQUEST_ID_HEADER = "X-Request-ID"


def current_request_id() -> str:
    return _request_id.get()


class RequestIdMiddleware:
    """Gives every request an id (the load balancer's X-Request-ID if it sent a sane one), for logs and replies,
    and puts the client's address (sessions_app.http, proxies considered) on every log line of the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _SAFE_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = _request_id.set(request_id)
        request_token = _request.set(request)
        try:
            response = self.get_response(request)
        finally:
            _request.reset(request_token)
            _request_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        record.client_address = _current_client_address()
        return True


def _current_client_address() -> str:
    request = _request.get()
    if request is None:
        return "-"
    address: str | None = getattr(request, "_log_client_address", None)
    if address is None:
        address = request._log_client_address = client_address(request) or "-"  # type: ignore[attr-defined]
    return address


# Pages use only our own static CSS and JS. The offline API reference (Swagger UI) needs inline code.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
                           "form-action 'self'; frame-ancestors 'none'")
API_DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
                   "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; frame-ancestors 'none'")


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = API_DOCS_POLICY if request.path.startswith("/api/docs") else CONTENT_SECURITY_POLICY
        response.headers.setdefault("Content-Security-Policy", policy)
        return response


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every answer that passes here: pages, API answers and exports hold restore
    data that no browser or proxy cache should keep. Static files are served before this (WhiteNoise) and keep
    their own caching."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        patch_cache_control(response, no_store=True)
        return response


class TenantSignInMiddleware:
    """A tenant's page session ends with its VB365 sign-in (signed out elsewhere, ended, refused by VB365):
    the person is signed out here and sent to sign in again."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Imported here: LOGGING loads this module (RequestIdLogFilter) before the app registry is ready.
        from sessions_app import selectors
        from sessions_app.models import Role
        from sessions_app.services import tenants

        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and selectors.user_role(user) == Role.TENANT
                and not tenants.tenant_sign_in_alive(user=user)):
            logout(request)
            messages.info(request, tenants.SIGN_IN_ENDED)
        return self.get_response(request)


NUL_REFUSED = "Null characters are not allowed."
NUL_REFUSED_PAGE = "This address or form contains a NUL character (%00), which Restore Desk does not accept."


class NullCharacterMiddleware:
    """Refuses (400) a request with a NUL character in its path or in any query parameter, name or value: no
    database stores NUL in text (PostgreSQL refuses it, and the request became a 500), and no person types one.
    API paths get the error envelope, pages a short page. Form fields are left to the forms, whose CharFields
    refuse NUL as a field error, so that a person's other input (a long reason) comes back, not a bare 400."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = _nul_in(request)
        if where is None:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse({"message": NUL_REFUSED_PAGE, "code": "invalid",
                                 "extra": {"fields": {where: [NUL_REFUSED]}}}, status=400)
        return render(request, "400.html", {"message": NUL_REFUSED_PAGE}, status=400)


def _nul_in(request: HttpRequest) -> str | None:
    """The name of the first part holding a NUL ("path", or a parameter's name with NUL shown as U+FFFD)."""
    if "\x00" in request.path:
        return "path"
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return name.replace("\x00", "\ufffd")
    return None



class SessionActivityMiddleware:
    """A successful page, API read or action on one restore session (a route under sessions/ with its id)
    counts as activity for the idle-session policy. Only 2xx answers count: a refused or unauthenticated
    request cannot keep someone else's session open.

    The stored time moves at most once per ACTIVITY_RESOLUTION (the UPDATE's own condition), and this process
    sends that UPDATE at most once per ACTIVITY_RESOLUTION per session: a page or script that polls a session
    costs one query a minute per worker, not one a request."""

    # Sessions recorded by this process, forgotten all at once beyond this many (a minute's worth of activity
    # of a large desk), so that memory stays bounded.
    REMEMBERED = 10_000

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._recorded_at: dict[str, float] = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = request.resolver_match
        if (match is not None and 200 <= response.status_code < 300 and "upstream_id" in match.kwargs
                and "sessions/" in match.route):
            self._record(str(match.kwargs["upstream_id"]))
        return response

    def _record(self, upstream_id: str) -> None:
        from sessions_app.services import idle_sessions

        now = time.monotonic()
        recorded_at = self._recorded_at.get(upstream_id)
        if recorded_at is not None and now - recorded_at < idle_sessions.ACTIVITY_RESOLUTION.total_seconds():
            return
        idle_sessions.restore_session_activity_record(upstream_id=upstream_id)
        if len(self._recorded_at) >= self.REMEMBERED:
            self._recorded_at.clear()
        self._recorded_at[upstream_id] = now


CACHE_UNAVAILABLE = ("Restore Desk cannot reach its cache (Redis) right now, so it cannot sign people in or "
                     "speak to VB365. Nothing was changed; try again in a minute.")
CACHE_RETRY_AFTER_SECONDS = 30


class CacheOutageMiddleware:
    """The shared cache (Redis) unreachable: a 503 that says so, with Retry-After, instead of a 500 page.

    The cache holds the sign-in throttles and the VB365 tokens, so nothing is done without it (sign-in fails
    closed rather than unthrottled). API clients get the error envelope with code `cache_unavailable`.
    Recovery needs nothing: the next request reconnects.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_cache_outage(exception):
            return None
        logger.warning("The cache is unreachable: %s", exception)
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse(
                {"message": CACHE_UNAVAILABLE, "code": "cache_unavailable", "extra": {}}, status=503)
        else:
            response = render(request, "503_cache.html", {"message": CACHE_UNAVAILABLE}, status=503)
        response["Retry-After"] = str(CACHE_RETRY_AFTER_SECONDS)
        return response
