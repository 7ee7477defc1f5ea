"""Who may call the API at all, and who may start sessions. The rules themselves live in selectors."""
from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request

from sessions_app import exceptions, selectors


class HasPortalRole(permissions.BasePermission):
    """A signed-in user without any portal role (no group, no tenant) may do nothing: 403."""

    message = exceptions.NOT_ALLOWED

    def has_permission(self, request: Request, view: Any) -> bool:
        return selectors.user_role(request.user) is not None


class CanStartSessions(permissions.BasePermission):
    """Unsafe methods need a role that may start sessions (not auditors), as the start page requires."""

    message = exceptions.NOT_ALLOWED

    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in permissions.SAFE_METHODS or selectors.can_start(request.user)
