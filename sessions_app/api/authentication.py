"""API authentication: `Authorization: Token <key>`, checked against our own hashed, expiring tokens.

The token, its user and the user's profile come in one query, because the role check that follows on every
call reads the profile (selectors.user_role: tenant or not).
"""
from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

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
        return token.user, token
