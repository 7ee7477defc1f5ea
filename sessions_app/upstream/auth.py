"""Bearer tokens for the VB365 API: obtained once, shared by every request and worker, refreshed on 401.

Tokens are kept in a TokenStore: Django's cache for the service account (shared across processes and hosts),
and for each tenant sign-in. In the cache they are encrypted, so that whoever can read the cache (Redis) holds
nothing VB365 accepts. Tokens never reach a log line or an error message.
"""
from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import requests
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.cache import cache

from sessions_app.upstream import types
from sessions_app.upstream.errors import UpstreamAuthError, UpstreamBadResponse

# Renew this long before the server's expiry, so that a token never dies in flight.
EXPIRY_MARGIN_SECONDS = 60
GRANT_LOCK_SECONDS = 15
GRANT_WAIT_SECONDS = 10.0
# Names the key derived from DJANGO_SECRET_KEY for sealing tokens. It was first used for tenant tokens only;
# kept as it was so that tenant sign-ins survive the upgrade that seals the service account's token too.
TOKEN_SEAL_CONTEXT = "restore-desk-tenant-token"


@dataclass(frozen=True)
class Token:
    access_token: str
    refresh_token: str
    expires_at: float

    def is_fresh(self, now: float | None = None) -> bool:
        return (now or time.time()) < self.expires_at - EXPIRY_MARGIN_SECONDS

    def as_dict(self) -> dict[str, Any]:
        return {"access_token": self.access_token, "refresh_token": self.refresh_token, "expires_at": self.expires_at}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Token:
        return cls(data["access_token"], data.get("refresh_token") or "", float(data["expires_at"]))

    @classmethod
    def from_grant(cls, payload: Any) -> Token:
        # Reference: CONTRACT.md §3, OAuthTokenResponse. `expires_in` is in seconds.
        if not isinstance(payload, dict) or not payload.get("access_token"):
            raise UpstreamBadResponse("The VB365 token endpoint sent a reply without `access_token`.")
        expires_in = payload.get("expires_in")
        try:
            lifetime = _lifetime_from_times(payload) if expires_in in (None, "") else float(expires_in)
        except (TypeError, ValueError):
            raise UpstreamBadResponse("The VB365 token endpoint sent an unreadable `expires_in`.") from None
        return cls(str(payload["access_token"]), str(payload.get("refresh_token") or ""), time.time() + lifetime)


def _lifetime_from_times(payload: dict[str, Any]) -> float:
    """Seconds from `.issued` to `.expires` (RFC-1123 or ISO-8601), for an answer without `expires_in`.

    Both times come from the server's clock, so their difference holds whatever the skew to ours.
    Reference: CONTRACT.md §1, the default lifetime is 60 minutes when the server does not say.
    Raises UpstreamBadResponse when either time is there but unreadable.
    """
    issued = types.parse_token_time(payload.get(".issued"), key=".issued")
    expires = types.parse_token_time(payload.get(".expires"), key=".expires")
    if issued is None or expires is None:
        return 3600.0
    return max((expires - issued).total_seconds(), 0.0)


class BearerAuth(requests.auth.AuthBase):
    def __init__(self, access_token: str) -> None:
        self._access_token = access_token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._access_token}"
        return request


class TokenStore(Protocol):
    def load(self) -> Token | None: ...

    def save(self, token: Token) -> None: ...

    def clear(self) -> None: ...

    def acquire_grant_lock(self) -> bool: ...

    def release_grant_lock(self) -> None: ...


def _token_cipher() -> MultiFernet:
    """Seals with DJANGO_SECRET_KEY and opens with it or any of DJANGO's SECRET_KEY_FALLBACKS, so that a key
    rotation does not drop every cached token at once."""
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return MultiFernet([
        Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"{key}|{TOKEN_SEAL_CONTEXT}".encode()).digest()))
        for key in keys
    ])


class CacheTokenStore:
    """The service account's token, in Django's cache (Redis in production), shared by every worker.

    The entry is encrypted (Fernet, with a key derived from DJANGO_SECRET_KEY). An entry that cannot be
    opened (another key, an older plain entry, garbage) is a miss: the caller gets a new grant.
    Subclasses change where the token lives (`key`) and how long (`timeout`).
    """

    def __init__(self, namespace: str) -> None:
        digest = hashlib.sha256(namespace.encode()).hexdigest()[:24]
        self._key = f"vb365:token:{digest}"
        self._lock_key = f"vb365:token-lock:{digest}"

    def _seal(self, data: dict[str, Any]) -> str:
        return _token_cipher().encrypt(json.dumps(data).encode()).decode()

    def _unseal(self, stored: Any) -> dict[str, Any] | None:
        if not isinstance(stored, str):
            return None
        try:
            data = json.loads(_token_cipher().decrypt(stored.encode()))
        except (InvalidToken, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _timeout(self, token: Token) -> int:
        return max(int(token.expires_at - time.time()), 1)

    def load(self) -> Token | None:
        stored = cache.get(self._key)
        data = self._unseal(stored) if stored else None
        try:
            return Token.from_dict(data) if data else None
        except (KeyError, TypeError, ValueError):
            return None

    def save(self, token: Token) -> None:
        cache.set(self._key, self._seal(token.as_dict()), timeout=self._timeout(token))

    def clear(self) -> None:
        cache.delete(self._key)

    def acquire_grant_lock(self) -> bool:
        return bool(cache.add(self._lock_key, 1, timeout=GRANT_LOCK_SECONDS))

    def release_grant_lock(self) -> None:
        cache.delete(self._lock_key)


GrantFunction = Callable[[dict[str, str]], Any]


class TokenProvider:
    """Hands out a valid access token, granting or refreshing through `grant` (the client's token call).

    `credentials` are the password-grant fields; without them (a tenant person's session) an expired refresh
    token ends in UpstreamAuthError, and the person signs in again.
    """

    def __init__(self, store: TokenStore, grant: GrantFunction, credentials: dict[str, str] | None) -> None:
        self._store = store
        self._grant = grant
        self._credentials = credentials
        # The store's token as this provider last saw it: a fresh one is used without asking the store (a
        # cache round trip per request). A 401 always goes back to the store, where other workers renew.
        self._known: Token | None = None

    def access_token(self) -> str:
        token = self._known if self._known and self._known.is_fresh() else self._store.load()
        if token and token.is_fresh():
            self._known = token
            return token.access_token
        return self._renew(stale=token).access_token

    def renew_after_rejection(self, rejected_access_token: str) -> str:
        """Called once after a 401: refresh unless another request already did."""
        self._known = None
        token = self._store.load()
        if token and token.access_token != rejected_access_token and token.is_fresh():
            self._known = token
            return token.access_token
        return self._renew(stale=token).access_token

    def renew_if_expiring(self, *, within_seconds: float) -> bool:
        """Renew now when the stored token expires within `within_seconds` (the scheduled refresh ahead of
        expiry, so that no request waits for a grant). True when a new token was obtained."""
        token = self._store.load()
        if token is not None and time.time() < token.expires_at - within_seconds:
            return False
        self._renew(stale=token)
        return True

    def _renew(self, *, stale: Token | None) -> Token:
        locked = self._store.acquire_grant_lock()
        if not locked:
            waited = self._wait_for_other_grant(stale)
            if waited:
                return waited
        try:
            token = self._refresh(stale) if stale and stale.refresh_token else None
            if token is None:
                token = self._password_grant()
            self._store.save(token)
            self._known = token
            return token
        finally:
            if locked:
                self._store.release_grant_lock()

    def _wait_for_other_grant(self, stale: Token | None) -> Token | None:
        deadline = time.monotonic() + GRANT_WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.05)
            token = self._store.load()
            if token and token.is_fresh() and (stale is None or token.access_token != stale.access_token):
                return token
        return None

    def _refresh(self, stale: Token) -> Token | None:
        try:
            return Token.from_grant(self._grant({"grant_type": "refresh_token", "refresh_token": stale.refresh_token}))
        except UpstreamAuthError:
            return None

    def _password_grant(self) -> Token:
        if not self._credentials:
            self._store.clear()
            raise UpstreamAuthError("Your VB365 sign-in has expired. Sign in again.")
        return Token.from_grant(self._grant({"grant_type": "password", **self._credentials}))
