"""Django's username-and-password backend, reading a signed-in user with what every page checks."""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from sessions_app import selectors


class PortalModelBackend(ModelBackend):
    """As ModelBackend; the user of a session comes with what every page reads (the time zone middleware,
    selectors.user_role): its profile and its strongest role group, in the query that reads the user."""

    def get_user(self, user_id: Any) -> Any:
        users = get_user_model()._default_manager
        role_group = selectors.role_group_column(users.model._meta.db_table, users.model._meta.pk.column)
        user = selectors.only_row(users.select_related("profile").annotate(role_group=role_group).filter(pk=user_id))
        if user is None or not self.user_can_authenticate(user):
            return None
        selectors.user_role_prime(user, getattr(user, "role_group", None))  # an annotation, not a field of User
        return user


# As AUTHENTICATION_BACKENDS names it, for logins that did not go through authenticate().
BACKEND_PATH = f"{PortalModelBackend.__module__}.{PortalModelBackend.__qualname__}"
