from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest

from sessions_app import selectors


def portal(request: HttpRequest) -> dict[str, Any]:
    # A request refused before the authentication middleware ran (a Host not in ALLOWED_HOSTS gets its 400 page
    # rendered from the common middleware) has no user yet: it is shown as signed out, not as a 500.
    user = getattr(request, "user", None) or AnonymousUser()
    return {
        "portal_role": selectors.user_role(user),
        "can_start": selectors.can_start(user),
        "can_review_all": selectors.can_review_all(user),
        "can_view_audit": selectors.can_view_audit(user),
        "vb365_api_version": settings.VB365_API_VERSION,
    }
