"""The one VB365 REST client, for API versions v1 to v8.

Every request goes through `UpstreamClient._request`: it builds the URL, attaches the bearer token, applies
the timeout, maps failures to the UpstreamError family and decodes JSON. Reads are retried by the adapter
(GET only, 502/503/504 and connection failures); writes never are.
"""
from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any, TypeVar

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from sessions_app.upstream import errors
from sessions_app.upstream.auth import BearerAuth, CacheTokenStore, Token, TokenProvider, TokenStore
from sessions_app.upstream.config import UpstreamConfig, upstream_config_from_settings
from sessions_app.upstream.types import (
    OrganizationDTO,
    Page,
    RestorePointDTO,
    RestoreSessionDTO,
    RestoreSessionEventDTO,
    parse_each,
    unwrap_collection,
)
from sessions_app.upstream.wire import Dialect

logger = logging.getLogger(__name__)

USER_AGENT = "restore-desk/1.0"
DEFAULT_PAGE_SIZE = 30
# Reference: CONTRACT.md §1, the server caps `limit` at 10,000.
MAX_PAGE_SIZE = 10_000
_UNAVAILABLE_STATUSES = (502, 503, 504)

T = TypeVar("T")


def build_session(config: UpstreamConfig) -> requests.Session:
    session = requests.Session()
    retry = Retry(
        total=config.max_retries,
        # A read timeout is answered at once as UpstreamTimeout: retrying it would multiply the wait.
        read=False,
        backoff_factor=0.5,
        status_forcelist=_UNAVAILABLE_STATUSES,
        allowed_methods=frozenset({"GET"}),
        raise_on_status=False,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_maxsize=16)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    session.verify = config.verify_tls
    # The environment (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE) is read once, here, for the one server this
    # session speaks to: with trust_env on, requests would read it again (and ~/.netrc) on every call.
    session.proxies.update(requests.utils.get_environ_proxies(config.base_url))
    if session.verify is True:
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    session.trust_env = False
    return session


class UpstreamClient:
    """Speaks one VB365 server in one API version, as the service account or as a tenant.

    `token_store` and `credentials` default to the service account of `config`; tenant sign-in passes the
    person's own store and no credentials.
    """

    def __init__(self, config: UpstreamConfig, *, session: requests.Session | None = None,
                 token_store: TokenStore | None = None, credentials: dict[str, str] | None = None,
                 as_tenant: bool = False) -> None:
        self.config = config
        self.dialect = Dialect(config.api_version)
        self.as_tenant = as_tenant
        self._session = session or build_session(config)
        if token_store is None:
            token_store = CacheTokenStore(config.cache_namespace)
            credentials = {"username": config.username, "password": config.password}
        self._tokens = TokenProvider(token_store, self._grant, credentials)

    def close(self) -> None:
        self._session.close()

    def token_refresh_ahead(self, *, within_seconds: float) -> bool:
        """Renew the token now if it expires within `within_seconds`; True when it was renewed."""
        return self._tokens.renew_if_expiring(within_seconds=within_seconds)

    def __enter__(self) -> UpstreamClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the choke point ----------------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                 json: Any = None, data: dict[str, str] | None = None, authenticated: bool = True) -> Any:
        """Send one request and return its decoded JSON body (None for an empty body).

        Raises an UpstreamError subclass for every failure. A 401 renews the token once and retries once.
        """
        url = f"{self.config.base_url}/{self.dialect.prefix}/{path}"
        access_token = self._tokens.access_token() if authenticated else None
        response = self._send(method, url, params=params, json=json, data=data, access_token=access_token)
        if response.status_code == 401 and authenticated:
            assert access_token is not None
            access_token = self._tokens.renew_after_rejection(access_token)
            response = self._send(method, url, params=params, json=json, data=data, access_token=access_token)
        self._raise_for_status(response)
        if not response.content or response.status_code == 204:
            return None
        try:
            return response.json()
        except ValueError:
            raise errors.UpstreamBadResponse(
                "The VB365 server sent a reply that is not valid JSON.", status_code=response.status_code,
                maybe_processed=True,
            ) from None

    def _send(self, method: str, url: str, *, params: dict[str, Any] | None, json: Any,
              data: dict[str, str] | None, access_token: str | None) -> requests.Response:
        started = time.monotonic()
        auth = BearerAuth(access_token) if access_token else None
        try:
            response = self._session.request(method, url, params=params, json=json, data=data, auth=auth,
                                             timeout=self.config.timeout)
        except requests.exceptions.ConnectTimeout:
            raise errors.UpstreamUnavailable("The VB365 server did not accept a connection in time.") from None
        except requests.exceptions.Timeout:
            raise errors.UpstreamTimeout(f"The VB365 server did not answer within {self.config.timeout[1]:g} seconds.",
                                         maybe_processed=True) from None
        except requests.exceptions.SSLError:
            raise errors.UpstreamUnavailable(
                "The VB365 server's TLS certificate is not trusted (see VB365_VERIFY_TLS).") from None
        except requests.exceptions.RetryError:
            raise errors.UpstreamUnavailable("The VB365 server kept failing; Restore Desk gave up retrying.") from None
        except requests.exceptions.ConnectionError as exc:
            raise errors.UpstreamUnavailable(maybe_processed=not _never_connected(exc)) from None
        logger.debug("%s %s -> %s in %.0f ms", method, url.split("?")[0], response.status_code,
                     (time.monotonic() - started) * 1000)
        return response

    @staticmethod
    def _raise_for_status(response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        message, error_code = _error_message(response)
        kwargs: dict[str, Any] = {"status_code": status, "body": response.text, "error_code": error_code}
        if status in (401, 403):
            raise errors.UpstreamAuthError(message, **kwargs)
        if status == 404:
            raise errors.UpstreamNotFound(message, **kwargs)
        if status in _UNAVAILABLE_STATUSES:
            raise errors.UpstreamUnavailable(message, **kwargs)
        raise errors.UpstreamRejected(message, **kwargs)

    def _grant(self, fields: dict[str, str]) -> Any:
        """POST /vN/Token, form-encoded. Grant failures (400 with OAuth `error`) become UpstreamAuthError."""
        # Reference: CONTRACT.md §3 POST /vN/Token
        try:
            return self._request("POST", "Token", data=self.dialect.token_form(fields), authenticated=False)
        except errors.UpstreamRejected as exc:
            raise errors.UpstreamAuthError(exc.message, status_code=exc.status_code,
                                           error_code=exc.error_code) from None

    def password_grant(self, *, username: str, password: str) -> Token:
        """A token for these credentials (checking them is VB365's job); raises UpstreamAuthError if refused."""
        return Token.from_grant(self._grant({"grant_type": "password", "username": username, "password": password}))

    def probe(self) -> int:
        """Is the server there? One anonymous GET, no token: any HTTP answer below 500 means reachable.

        Reference: CONTRACT.md §0, clients probe `GET /vN/ServiceInstance` (v6+) and take 401/403/200 as served.
        Returns the status; raises UpstreamUnavailable or UpstreamTimeout.
        """
        path = "ServiceInstance" if self.dialect.version >= 6 else "Organizations"
        response = self._send("GET", f"{self.config.base_url}/{self.dialect.prefix}/{path}", params=None, json=None,
                              data=None, access_token=None)
        if response.status_code >= 500:
            raise errors.UpstreamUnavailable(status_code=response.status_code)
        return response.status_code

    # -- organizations and restore points ------------------------------------------------------------------

    # Reference: CONTRACT.md §4.1 GET /vN/Organizations (array to v7, page in v8)
    def list_organizations(self) -> list[OrganizationDTO]:
        return list(self._items("Organizations", OrganizationDTO.from_api, what="organization"))

    # Reference: CONTRACT.md §4.2 GET /vN/Organization (tenant token)
    def get_own_organization(self) -> OrganizationDTO:
        return OrganizationDTO.from_api(self._request("GET", "Organization"))

    # Reference: CONTRACT.md §4.3 GET /vN/RestorePoints (v6+; array in v6, page from v7)
    def list_restore_points(self, *, organization_id: str, limit: int = 500) -> list[RestorePointDTO]:
        """The organization's restore points, newest first, at most `limit`. Empty before v6."""
        if not self.dialect.has_restore_points:
            return []
        params: dict[str, Any] = {"organizationId": organization_id}
        if self.dialect.version >= 7:
            # v7+ page newest first: the first `limit` are the newest, and no more pages are read.
            params["orderAsc"] = "false"
            points = list(itertools.islice(self._items("RestorePoints", RestorePointDTO.from_api, what="restore point",
                                                       params=params, page_size=limit), limit))
        else:
            # v6 answers one unordered array: sort it all before keeping the newest.
            points = list(self._items("RestorePoints", RestorePointDTO.from_api, what="restore point", params=params))
        return sorted(points, key=lambda point: point.backup_time, reverse=True)[:limit]

    # -- restore sessions ------------------------------------------------------------------------------------

    # Reference: CONTRACT.md §5.1 POST /vN/Organizations/{id}/Action, §5.2 POST /vN/Organizations/{id}/explore
    def start_restore_session(self, *, organization_id: str | None, point_in_time: datetime, workload: str,
                              show_deleted: bool = False, show_all_versions: bool = False) -> RestoreSessionDTO:
        """Explore an organization as of `point_in_time`. `organization_id=None` explores the tenant's own.

        Accepts 200 or 201 (the v6/v7 specs say 200, the docs and v8 say 201).
        """
        body = self.dialect.explore_body(point_in_time=point_in_time, workload=workload,
                                         show_deleted=show_deleted, show_all_versions=show_all_versions)
        payload = self._request("POST", self.dialect.explore_path(organization_id), json=body)
        return RestoreSessionDTO.from_api(payload)

    # Reference: CONTRACT.md §6.2 GET /vN/RestoreSessions/{restoreSessionId}
    def get_restore_session(self, session_id: str) -> RestoreSessionDTO:
        return RestoreSessionDTO.from_api(self._request("GET", f"RestoreSessions/{session_id}"))

    # Reference: CONTRACT.md §6.1 GET /vN/RestoreSessions
    def list_restore_sessions(self, *, offset: int = 0, limit: int = DEFAULT_PAGE_SIZE,
                              start_time_from: datetime | None = None) -> Page[RestoreSessionDTO]:
        """One page of sessions (newest first) from `offset`."""
        return next(self.collection_pages("RestoreSessions", RestoreSessionDTO.from_api, what="restore session",
                                          params=self._session_filters(start_time_from), offset=offset,
                                          page_size=limit))

    def iter_restore_sessions(self, *, start_time_from: datetime | None = None,
                              page_size: int = 1000) -> Iterator[RestoreSessionDTO]:
        """Every visible session (newest first), page by page until a short or last page."""
        for page in self.iter_restore_session_pages(start_time_from=start_time_from, page_size=page_size):
            yield from page.items

    def iter_restore_session_pages(self, *, start_time_from: datetime | None = None,
                                   page_size: int = 1000) -> Iterator[Page[RestoreSessionDTO]]:
        """Like iter_restore_sessions, one page at a time (for batched writes); empty pages are skipped.
        Each page's `total` is the number of sessions listed where the server's paging tells it."""
        for page in self.collection_pages("RestoreSessions", RestoreSessionDTO.from_api, what="restore session",
                                          params=self._session_filters(start_time_from), page_size=page_size):
            if page.items:
                yield page

    # Reference: CONTRACT.md §7 GET /vN/RestoreSessions/{restoreSessionId}/Events (v2+)
    def list_restore_session_events(self, session_id: str, *, offset: int = 0,
                                    limit: int = DEFAULT_PAGE_SIZE) -> Page[RestoreSessionEventDTO]:
        if not self.dialect.has_events:
            return Page(items=[], offset=offset, limit=limit, has_more=False)
        return next(self.collection_pages(f"RestoreSessions/{session_id}/Events", RestoreSessionEventDTO.from_api,
                                          what="restore session event", offset=offset, page_size=limit))

    def iter_restore_session_events(self, session_id: str, *, page_size: int = 500) -> Iterator[RestoreSessionEventDTO]:
        """Every event of the session, in the server's order; none before v2."""
        if not self.dialect.has_events:
            return
        for page in self.collection_pages(f"RestoreSessions/{session_id}/Events", RestoreSessionEventDTO.from_api,
                                          what="restore session event", page_size=page_size):
            yield from page.items

    # Reference: CONTRACT.md §8 POST /vN/RestoreSessions/{id}/Action {"stop": null} (v1-v5), /Stop (v6+)
    def stop_restore_session(self, session_id: str) -> None:
        """Stop a session. Accepts 200 or 204."""
        path, body = self.dialect.stop_request(session_id)
        self._request("POST", path, json=body)

    # -- paging helpers ----------------------------------------------------------------------------------------

    def _session_filters(self, start_time_from: datetime | None) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if start_time_from is not None and self.dialect.has_start_time_filter:
            params["startTimeFrom"] = start_time_from.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return params

    def collection_pages(self, path: str, parser: Callable[[Any], T], *, what: str,
                         params: dict[str, Any] | None = None, offset: int = 0,
                         page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[Page[T]]:
        """The pages of the collection at `path` from `offset`, each parsed with `parser`: the one paging loop.

        Yields at least one page (possibly empty), then follows the server's paging until the last page: its
        `next` link, or a full page where the server sends no links. A plain array (v1; organizations to v7) is
        the whole collection, read once and cut into pages here. Every page's `total` is the collection's size
        where the server says it (an array's length, a v6/v7 page's `totalCount`). Parsing is lazy: a reader
        that stops early neither requests nor parses the rest.
        """
        page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        while True:
            payload = self._request("GET", path, params={**(params or {}), "offset": offset, "limit": page_size})
            raw_items, has_next = unwrap_collection(payload, what=what)
            if has_next is None:
                yield from _array_pages(raw_items, parser, offset=offset, page_size=page_size)
                return
            # Reference: CONTRACT.md §1 paging: v6/v7 pages may carry a nullable totalCount (absent from v8).
            total = payload.get("totalCount")
            yield Page(items=parse_each(raw_items, parser), offset=offset, limit=page_size, has_more=has_next,
                       total=total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else None)
            if not has_next:
                return
            offset += len(raw_items)

    def _items(self, path: str, parser: Callable[[Any], T], *, what: str, params: dict[str, Any] | None = None,
               page_size: int = 500) -> Iterator[T]:
        """Every item of the collection at `path`, page after page."""
        for page in self.collection_pages(path, parser, what=what, params=params, page_size=page_size):
            yield from page.items


def _array_pages(raw_items: list[Any], parser: Callable[[Any], T], *, offset: int,
                 page_size: int) -> Iterator[Page[T]]:
    """A whole collection sent as one array, as pages of `page_size` from `offset` (at least one, maybe empty)."""
    total = len(raw_items)
    while True:
        end = offset + page_size
        yield Page(items=parse_each(raw_items[offset:end], parser), offset=offset, limit=page_size,
                   has_more=end < total, total=total)
        if end >= total:
            return
        offset = end


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    """A refused or unresolvable connection: the request never reached the server."""
    reason = exc.args[0] if exc.args else None
    cause = getattr(reason, "reason", reason)
    return isinstance(cause, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.NameResolutionError))


def _error_message(response: requests.Response) -> tuple[str, str | None]:
    """The server's own words: `message` (RESTExceptionInfo), OAuth `error_description`, or the status line."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        # Reference: CONTRACT.md §2. ASP.NET's stock 401 body spells it `Message`.
        message = body.get("message") or body.get("Message") or body.get("error_description") or body.get("error")
        error_code = body.get("errorCode") or body.get("error")
        if message:
            return str(message)[:500], str(error_code) if error_code else None
    return f"The VB365 server answered {response.status_code} {response.reason or ''}".strip() + ".", None


def configured_dialect() -> Dialect:
    """What the configured API version can do, without building a client."""
    return Dialect(upstream_config_from_settings().api_version)


_per_thread = threading.local()


def get_client() -> UpstreamClient:
    """The service-account client for the configured server, one per thread so that its connections (and
    TLS sessions) are reused across requests. A changed configuration gets a new client."""
    config = upstream_config_from_settings()
    client: UpstreamClient | None = getattr(_per_thread, "client", None)
    if client is None or client.config != config:
        if client is not None:
            client.close()
        client = _per_thread.client = UpstreamClient(config)
    return client
