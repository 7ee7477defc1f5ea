"""Tenant self-service: people who sign in with their organization's own Microsoft 365 credentials.

VB365 grants such a person a token that sees only their organization (`GET /vN/Organization`) and its tenant
explore endpoints. Restore Desk checks the credentials against VB365's token endpoint (password grant),
learns the organization, and signs the person in as a tenant user bound to it. The VB365 tokens stay on
the server: encrypted in the shared cache under the user's id, refreshed when they expire, and removed at
sign-out. The password itself is never stored.
"""
from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.http import HttpRequest

from sessions_app import exceptions, selectors
from sessions_app.models import AuditAction, AuditOutcome, Organization, Role, UserProfile
from sessions_app.services import accounts
from sessions_app.services import organizations as organization_services
from sessions_app.services.audit import audit_event_record
from sessions_app.upstream import client as upstream
from sessions_app.upstream import errors
from sessions_app.upstream.auth import CacheTokenStore, Token
from sessions_app.upstream.config import upstream_config_from_settings

TENANT_USERNAME_PREFIX = "tenant:"
# How long a tenant sign-in lasts on the server side, refreshes included; then the person signs in again.
TENANT_TOKEN_TTL_SECONDS = 8 * 3600

WRONG_CREDENTIALS = "VB365 did not accept this user name and password for a Microsoft 365 organization."
ORGANIZATION_UNKNOWN = "VB365 does not back up an organization for these credentials."
TENANT_SIGN_IN_REFUSED = ("This VB365 server does not let organizations sign in themselves "
                          "(tenant self-service is off or not available in API v{version}).")
UPSTREAM_DOWN = "VB365 cannot be reached right now; try again in a moment."


class TenantSignInFailed(exceptions.PortalError):
    http_status = 401
    code = "tenant_sign_in_failed"


def _fernet() -> Fernet:
    key = hashlib.sha256(f"{settings.SECRET_KEY}|restore-desk-tenant-token".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


class TenantTokenStore(CacheTokenStore):
    """One tenant user's VB365 tokens, encrypted, in the shared cache."""

    def __init__(self, user_id: int) -> None:
        self._key = f"vb365:tenant-token:{user_id}"
        self._lock_key = f"vb365:tenant-token-lock:{user_id}"

    def _seal(self, data: dict[str, Any]) -> str:
        return _fernet().encrypt(json.dumps(data).encode()).decode()

    def _unseal(self, stored: Any) -> dict[str, Any] | None:
        try:
            return json.loads(_fernet().decrypt(str(stored).encode()))  # type: ignore[no-any-return]
        except (InvalidToken, ValueError):
            return None

    def _timeout(self, token: Token) -> int:
        # Outlives the access token: the refresh token renews it until the sign-in itself expires.
        return TENANT_TOKEN_TTL_SECONDS


def _tenant_client(store: Any) -> upstream.UpstreamClient:
    return upstream.UpstreamClient(upstream_config_from_settings(), token_store=store, credentials=None,
                                   as_tenant=True)


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
    user: AbstractBaseUser
    organization: Organization


def tenant_sign_in(*, username: str, password: str, client_address: str = "") -> TenantSignIn:
    """Check the credentials with VB365, bind the person to their organization and keep their token.

    Raises TenantSignInFailed with a message for each refusal (all audited). Does not log the user in:
    the view does, so that Django's session and sign-in audit happen in one place.
    """
    username = username.strip()
    store = _OneShotStore()
    try:
        throttled = accounts.sign_in_throttled(username=f"{TENANT_USERNAME_PREFIX}{username}", address=client_address)
        if throttled:
            raise TenantSignInFailed(throttled)
        organization = _organization_for(username=username, password=password, store=store)
    except TenantSignInFailed as exc:
        accounts.sign_in_failure_note(username=f"{TENANT_USERNAME_PREFIX}{username}", address=client_address)
        audit_event_record(action=AuditAction.SIGN_IN_FAILED, outcome=AuditOutcome.FAILURE,
                           actor_username=f"{TENANT_USERNAME_PREFIX}{username}"[:150], client_address=client_address,
                           details={"method": "tenant", "why": exc.message})
        raise
    user = _tenant_user(username=username, organization=organization)
    assert store.token is not None
    TenantTokenStore(user.pk).save(store.token)
    return TenantSignIn(user=user, organization=organization)


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


def _tenant_user(*, username: str, organization: Organization) -> AbstractBaseUser:
    user_model = get_user_model()
    with transaction.atomic():
        user, _ = user_model.objects.get_or_create(username=f"{TENANT_USERNAME_PREFIX}{username.lower()}"[:150])
        if user.has_usable_password():
            user.set_unusable_password()
            user.save(update_fields=["password"])
        UserProfile.objects.update_or_create(user=user, defaults={"tenant_organization": organization})
    return user  # type: ignore[no-any-return]


def tenant_sign_out(*, user: AbstractBaseUser | AnonymousUser) -> None:
    """Forget the VB365 tokens of a tenant user (local revocation)."""
    if getattr(user, "is_authenticated", False) and selectors.user_role(user) == Role.TENANT:
        TenantTokenStore(user.pk).clear()


def tenant_client_for(request: HttpRequest) -> upstream.UpstreamClient | None:
    """The client speaking as the signed-in tenant; None for everyone else (the service account is used)."""
    user = request.user
    if selectors.user_role(user) != Role.TENANT:
        return None
    return _tenant_client(TenantTokenStore(user.pk))
