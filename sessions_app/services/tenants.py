"""Tenant self-service: people who sign in with their organization's own Microsoft 365 credentials.

VB365 grants such a person a token that sees only their organization (`GET /vN/Organization`) and its tenant
explore endpoints. Restore Desk checks the credentials against VB365's token endpoint (password grant),
learns the organization, and signs the person in as a tenant user bound to it. The VB365 tokens stay on
the server: encrypted in the shared cache under the user's id, refreshed when they expire, and removed at
sign-out. The password itself is never stored.

A tenant's access ends with its VB365 sign-in: at most TENANT_TOKEN_TTL_SECONDS after it signed in (refreshes
do not extend it), at its sign-out (page or API), and as soon as VB365 refuses its tokens (a failed refresh,
a 401). Its API tokens are then revoked and its pages signed out. One tenant user has one VB365 sign-in at a
time: every page session and API token of that Microsoft 365 account shares it, and ends with it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from sessions_app import exceptions, selectors
from sessions_app.models import ApiToken, ApiTokenKind, AuditAction, AuditOutcome, Organization, Role, UserProfile
from sessions_app.services import accounts, api_tokens
from sessions_app.services import organizations as organization_services
from sessions_app.services.audit import audit_event_record
from sessions_app.upstream import client as upstream
from sessions_app.upstream import errors
from sessions_app.upstream.auth import CacheTokenStore, Token
from sessions_app.upstream.config import upstream_config_from_settings

TENANT_USERNAME_PREFIX = "tenant:"
# How long a tenant sign-in lasts at most, refreshes included; then the person signs in again.
TENANT_TOKEN_TTL_SECONDS = 8 * 3600

WRONG_CREDENTIALS = "VB365 did not accept this user name and password for a Microsoft 365 organization."
ORGANIZATION_UNKNOWN = "VB365 does not back up an organization for these credentials."
TENANT_SIGN_IN_REFUSED = ("This VB365 server does not let organizations sign in themselves "
                          "(tenant self-service is off or not available in API v{version}).")
UPSTREAM_DOWN = "VB365 cannot be reached right now; try again in a moment."
SIGN_IN_ENDED = "Your VB365 sign-in has ended (signed out, expired, or no longer accepted by VB365). Sign in again."


class TenantSignInFailed(exceptions.PortalError):
    http_status = 401
    code = "tenant_sign_in_failed"


class TenantSignInThrottled(TenantSignInFailed):
    http_status = 429
    code = "throttled"


class TenantSignInEnded(exceptions.PortalError):
    http_status = 401
    code = "authentication_failed"


class TenantTokenStore(CacheTokenStore):
    """One tenant user's VB365 sign-in: its tokens and when it ends, encrypted as the service account's are,
    in the shared cache. The entry lives until the sign-in ends; its absence means signed out."""

    def __init__(self, user_id: int) -> None:
        self._key = f"vb365:tenant-token:{user_id}"
        self._lock_key = f"vb365:tenant-token-lock:{user_id}"

    def _record(self) -> dict[str, Any] | None:
        stored = cache.get(self._key)
        record = self._unseal(stored) if stored else None
        if not record or not isinstance(record.get("token"), dict) or not isinstance(record.get("until"), float):
            return None
        return record

    def start(self, token: Token, *, until: datetime) -> None:
        """A new sign-in, ending at `until` whatever refreshes happen meanwhile."""
        self._write(token, until.timestamp())

    def ends_at(self) -> datetime | None:
        record = self._record()
        return datetime.fromtimestamp(record["until"], tz=dt_timezone.utc) if record else None

    def load(self) -> Token | None:
        record = self._record()
        try:
            return Token.from_dict(record["token"]) if record else None
        except (KeyError, TypeError, ValueError):
            return None

    def save(self, token: Token) -> None:
        # A refresh keeps the sign-in's end. With no sign-in left (signed out while the refresh was under way),
        # nothing is written: a late refresh must not sign the tenant in again.
        record = self._record()
        if record is not None:
            self._write(token, record["until"])

    def _write(self, token: Token, until: float) -> None:
        remaining = int(until - time.time())
        if remaining <= 0:
            self.clear()
            return
        cache.set(self._key, self._seal({"token": token.as_dict(), "until": float(until)}), timeout=remaining)


class _TenantClient(upstream.UpstreamClient):
    """The client speaking as one tenant. When VB365 refuses the tenant's tokens (401 even after a refresh,
    or a refresh refused), the sign-in ends here, for every page and token that shares it."""

    def __init__(self, store: Any) -> None:
        super().__init__(upstream_config_from_settings(), token_store=store, credentials=None, as_tenant=True)
        self._store = store

    def _request(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super()._request(*args, **kwargs)
        except errors.UpstreamAuthError as exc:
            # 403 is VB365 refusing one operation to a tenant it accepts; that ends nothing.
            if exc.status_code in (None, 401) and kwargs.get("authenticated", True):
                self._store.clear()
            raise


def _tenant_client(store: Any) -> upstream.UpstreamClient:
    return _TenantClient(store)


class _OneShotStore:
    """Holds the first grant while the organization is looked up, before the user exists."""

    def __init__(self) -> None:
        self.token: Token | None = None

    def load(self) -> Token | None:
        return self.token

    def save(self, token: Token) -> None:
        self.token = token

    def clear(self) -> None:
        self.token = None

    def acquire_grant_lock(self) -> bool:
        return True

    def release_grant_lock(self) -> None:
        return None


@dataclass(frozen=True)
class TenantSignIn:
    user: User
    organization: Organization
    # The sign-in ends then at the latest: page sessions and API tokens made from it end then too.
    ends_at: datetime


def tenant_sign_in(*, username: str, password: str, client_address: str = "") -> TenantSignIn:
    """Check the credentials with VB365, bind the person to their organization and keep their token.

    Raises TenantSignInFailed with a message for each refusal (each audited), or its subclass
    TenantSignInThrottled while a sign-in limit holds (counted, not audited each time). Does not log the user in:
    the view does, so that Django's session and sign-in audit happen in one place.
    """
    username = username.strip()
    store = _OneShotStore()
    # Throttled attempts are refused before VB365 is asked, and are not failures: only the throttle's start is
    # audited (accounts.sign_in_failure_note), so a flood of attempts cannot flood the audit trail.
    throttled = accounts.sign_in_throttled(username=f"{TENANT_USERNAME_PREFIX}{username}", address=client_address)
    if throttled:
        raise TenantSignInThrottled(throttled)
    try:
        organization = _organization_for(username=username, password=password, store=store)
    except TenantSignInFailed as exc:
        audit_event_record(action=AuditAction.SIGN_IN_FAILED, outcome=AuditOutcome.FAILURE,
                           actor_username=f"{TENANT_USERNAME_PREFIX}{username}"[:150], client_address=client_address,
                           details={"method": "tenant", "why": exc.message})
        accounts.sign_in_failure_note(username=f"{TENANT_USERNAME_PREFIX}{username}", address=client_address,
                                      method="tenant")
        raise
    user = _tenant_user(username=username, organization=organization)
    assert store.token is not None
    ends_at = timezone.now() + timedelta(seconds=TENANT_TOKEN_TTL_SECONDS)
    TenantTokenStore(user.pk).start(store.token, until=ends_at)
    return TenantSignIn(user=user, organization=organization, ends_at=ends_at)


def _organization_for(*, username: str, password: str, store: _OneShotStore) -> Organization:
    client = _tenant_client(store)
    if not client.dialect.supports_tenant_sign_in:
        raise TenantSignInFailed(TENANT_SIGN_IN_REFUSED.format(version=client.dialect.version))
    try:
        store.save(client.password_grant(username=username, password=password))
        return organization_services.organization_refresh_own(client=client)
    except errors.UpstreamAuthError as exc:
        if exc.status_code == 403:
            raise TenantSignInFailed(TENANT_SIGN_IN_REFUSED.format(version=client.dialect.version)) from None
        raise TenantSignInFailed(WRONG_CREDENTIALS) from None
    except errors.UpstreamNotFound:
        raise TenantSignInFailed(ORGANIZATION_UNKNOWN) from None
    except (errors.UpstreamUnavailable, errors.UpstreamTimeout):
        raise TenantSignInFailed(UPSTREAM_DOWN) from None
    except errors.UpstreamError as exc:
        raise TenantSignInFailed(f"VB365 refused the sign-in: {exc.message}") from None
    finally:
        client.close()


def _tenant_user(*, username: str, organization: Organization) -> User:
    with transaction.atomic():
        user, _ = User.objects.get_or_create(username=f"{TENANT_USERNAME_PREFIX}{username.lower()}"[:150])
        if user.has_usable_password():
            user.set_unusable_password()
            user.save(update_fields=["password"])
        UserProfile.objects.update_or_create(user=user, defaults={"tenant_organization": organization})
    return user


def tenant_api_token_create(*, sign_in: TenantSignIn) -> api_tokens.IssuedToken:
    """An API token for this sign-in, ending with it."""
    return api_tokens.api_token_create(user=sign_in.user, kind=ApiTokenKind.TENANT, expires_at=sign_in.ends_at,
                                       actor=sign_in.user)


def tenant_sign_out(*, user: AbstractBaseUser | AnonymousUser) -> None:
    """End the tenant's VB365 sign-in: forget its VB365 tokens and revoke its API tokens. Its page sessions
    elsewhere end at their next request (tenant_sign_in_alive)."""
    if isinstance(user, User) and selectors.user_role(user) == Role.TENANT:
        _sign_in_end(user=user, actor=user, why="sign-out")


def _sign_in_end(*, user: User, actor: User | None, why: str) -> None:
    TenantTokenStore(user.pk).clear()
    api_tokens.api_tokens_revoke_all(user=user, kind=ApiTokenKind.TENANT, actor=actor, why=why)


def tenant_sign_in_alive(*, user: AbstractBaseUser) -> bool:
    """Does VB365 still accept this tenant's sign-in? False once it ended (sign-out, its end, VB365 refusing).

    Asks VB365 when the access token has run out (at most once per VB365 token lifetime), so that a tenant
    who only reads what Restore Desk keeps locally is still cut off once VB365 no longer accepts it. VB365
    being unreachable is not a refusal: the sign-in stays, within its end.
    """
    store = TenantTokenStore(user.pk)
    token = store.load()
    if token is None:
        return False
    if token.is_fresh():
        return True
    client = _tenant_client(store)
    try:
        client.get_own_organization()
    except errors.UpstreamAuthError as exc:
        return exc.status_code == 403
    except errors.UpstreamError:
        return True
    finally:
        client.close()
    return True


def tenant_api_token_check(*, token: ApiToken) -> None:
    """Raises TenantSignInEnded, and revokes the tenant's API tokens, when its VB365 sign-in has ended."""
    if not tenant_sign_in_alive(user=token.user):
        _sign_in_end(user=token.user, actor=None, why="VB365 sign-in ended")
        raise TenantSignInEnded(SIGN_IN_ENDED)


def tenant_refused_by_upstream(*, user: AbstractBaseUser | AnonymousUser) -> bool:
    """After VB365 refused a call made as this user: True (and the sign-in ended, its tokens revoked) when the
    user is a tenant whose VB365 sign-in is gone; False otherwise (nothing changes)."""
    if not isinstance(user, User) or selectors.user_role(user) != Role.TENANT:
        return False
    if TenantTokenStore(user.pk).load() is not None:
        return False
    _sign_in_end(user=user, actor=None, why="VB365 sign-in ended")
    return True


def client_for(*, user: AbstractBaseUser | AnonymousUser) -> upstream.UpstreamClient:
    """The client that speaks for `user`: the tenant's own VB365 sign-in for a tenant user, the service
    account's for everyone else."""
    if selectors.user_role(user) != Role.TENANT or not isinstance(user, User):
        return upstream.get_client()
    return _tenant_client(TenantTokenStore(user.pk))
