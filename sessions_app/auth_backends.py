"""Django's username-and-password backend, reading a signed-in user with what every page checks."""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class PortalModelBackend(ModelBackend):
    """As ModelBackend; the user of a session comes with its profile, which every page reads (the time zone
    middleware, selectors.user_role), in the query that reads the user."""

    def get_user(self, user_id: Any) -> Any:
        user = get_user_model()._default_manager.select_related("profile").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None


# As AUTHENTICATION_BACKENDS names it, for logins that did not go through authenticate().
BACKEND_PATH = f"{PortalModelBackend.__module__}.{PortalModelBackend.__qualname__}"
