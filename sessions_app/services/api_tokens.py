"""API tokens: shown once, stored hashed, ended by their expiry or by revocation. Issue and revocation are audited.

A key is `rd_` and 43 URL-safe characters (256 random bits). Only its SHA-256 and its first characters are
stored (`ApiToken.key_hash`, `ApiToken.prefix`): a copy of the database, or the admin, yields nothing that
signs in. Two kinds:

- staff tokens (operators, helpdesk, auditors, administrators) live API_TOKEN_HOURS;
- tenant tokens end with the tenant's VB365 sign-in (services.tenants decides when that is).
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from sessions_app import exceptions, selectors
from sessions_app.models import ApiToken, ApiTokenKind, AuditAction
from sessions_app.prepared import PreparedLookup
from sessions_app.services.audit import audit_event_record

KEY_START = "rd_"
# "rd_" and 8 random characters: 48 bits, enough to tell a user's tokens apart, 208 bits short of a key.
PREFIX_LENGTH = len(KEY_START) + 8
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Ended tokens stay listed (admin, audit context) this long, then are deleted when their user gets a new one.
ENDED_TOKENS_KEPT = timedelta(days=30)

TOKEN_INVALID = "Invalid token."
TOKEN_EXPIRED = "This token has expired. Get a new one."
TOKEN_REVOKED = "This token has been revoked. Get a new one."
USER_INACTIVE = "User inactive or deleted."


class ApiTokenRefused(exceptions.PortalError):
    http_status = 401
    code = "authentication_failed"


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    # Shown to the caller once; nowhere stored.
    key: str


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(*, user: User, kind: ApiTokenKind = ApiTokenKind.STAFF,
                     expires_at: datetime | None = None, actor: AbstractBaseUser | None = None) -> IssuedToken:
    """A new token for `user`, ending at `expires_at` or after API_TOKEN_HOURS, whichever comes first.

    `actor` is who asked (None: an administrator's command, recorded as "system").
    """
    now = timezone.now()
    longest = now + timedelta(hours=settings.API_TOKEN_HOURS)
    key = KEY_START + secrets.token_urlsafe(32)
    with transaction.atomic():
        ApiToken.objects.filter(user=user, expires_at__lt=now - ENDED_TOKENS_KEPT).delete()
        ApiToken.objects.filter(user=user, revoked_at__lt=now - ENDED_TOKENS_KEPT).delete()
        token = ApiToken.objects.create(user=user, kind=kind, key_hash=_digest(key), prefix=key[:PREFIX_LENGTH],
                                        expires_at=longest if expires_at is None else min(expires_at, longest))
        _audit(AuditAction.TOKEN_CREATE, token=token, actor=actor)
    return IssuedToken(token=token, key=key)


def api_token_authenticate(*, key: str) -> ApiToken:
    """The live token for this key, with its user, the user's profile and `token.role_group`: the user's
    strongest group among selectors.GROUP_ROLES (None for none), which spares selectors.user_role its group
    query. One query; raises ApiTokenRefused."""
    token = _TOKEN_BY_KEY_HASH.get(_digest(key))
    if token is None:
        raise ApiTokenRefused(TOKEN_INVALID)
    now = timezone.now()
    if token.revoked_at is not None:
        raise ApiTokenRefused(TOKEN_REVOKED)
    if token.expires_at <= now:
        raise ApiTokenRefused(TOKEN_EXPIRED)
    if not token.user.is_active:
        raise ApiTokenRefused(USER_INACTIVE)
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


# Every API call runs this lookup (prepared.py says why it is compiled once). role_group: the strongest of the
# user's role groups, as a column of the same query (selectors.role_group_column).
_TOKEN_BY_KEY_HASH = PreparedLookup(
    lambda: ApiToken.objects.select_related("user", "user__profile").annotate(
        role_group=selectors.role_group_column(ApiToken._meta.db_table, "user_id")),
    "key_hash")


def api_token_revoke(*, token: ApiToken, actor: AbstractBaseUser | AnonymousUser | None = None,
                     why: str = "") -> bool:
    """End the token now. False when it was revoked already (nothing is recorded twice)."""
    now = timezone.now()
    with transaction.atomic():
        if not ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now):
            return False
        token.revoked_at = now
        _audit(AuditAction.TOKEN_REVOKE, token=token, actor=actor, why=why)
    return True


def api_tokens_revoke_all(*, user: User, kind: ApiTokenKind | None = None,
                          actor: AbstractBaseUser | AnonymousUser | None = None, why: str = "") -> int:
    """Revoke every live token of `user` (of one kind, if given); returns how many."""
    live = ApiToken.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=timezone.now())
    if kind is not None:
        live = live.filter(kind=kind)
    return sum(api_token_revoke(token=token, actor=actor, why=why) for token in live.select_related("user"))


def _audit(action: AuditAction, *, token: ApiToken, actor: AbstractBaseUser | AnonymousUser | None,
           why: str = "") -> None:
    details = {"user": token.user.get_username(), "token": token.prefix, "kind": token.kind,
               "expires_at": token.expires_at.isoformat()}
    if why:
        details["why"] = why
    audit_event_record(action=action, actor=actor, actor_username="system" if actor is None else "",
                       details=details)
