"""Tenant self-service: people who sign in with their organization's own Microsoft 365 credentials."""
from __future__ import annotations

from django.http import HttpRequest

from sessions_app.upstream import client as upstream


def tenant_client_for(request: HttpRequest) -> upstream.UpstreamClient | None:
    """The client speaking as the signed-in tenant; None for everyone else (the service account is used)."""
    return None
