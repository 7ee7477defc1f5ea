"""API authentication: `Authorization: Token <key>`, checked against our own hashed, expiring tokens.

The token, its user, the user's profile and the user's role groups come in one query, because the role check
that follows on every call (selectors.user_role) reads the profile (tenant or not) and the groups.
"""
from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from sessions_app import selectors
from sessions_app.models import ApiTokenKind
from sessions_app.services import api_tokens, tenants


class PortalTokenAuthentication(TokenAuthentication):
    """DRF's header parsing and `WWW-Authenticate: Token` challenge, with services.api_tokens behind them.

    A tenant's token also needs its VB365 sign-in to be alive; when it has ended the token is revoked.
    """

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        try:
            token = api_tokens.api_token_authenticate(key=key)
            if token.kind == ApiTokenKind.TENANT:
                tenants.tenant_api_token_check(token=token)
        except (api_tokens.ApiTokenRefused, tenants.TenantSignInEnded) as exc:
            raise exceptions.AuthenticationFailed(exc.message) from None
        # An annotation of api_token_authenticate's query, not a field of ApiToken: the role check that
        # follows then costs no query.
        selectors.user_role_prime(token.user, getattr(token, "role_group", None))
        return token.user, token
