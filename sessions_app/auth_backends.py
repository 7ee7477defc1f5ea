"""Django's username-and-password backend, reading a signed-in user with what every page checks."""
from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from sessions_app import selectors
from sessions_app.prepared import PreparedLookup


class PortalModelBackend(ModelBackend):
    """As ModelBackend; the user of a session comes with what every page reads (the time zone middleware,
    selectors.user_role): its profile and its strongest role group, in the query that reads the user."""

    def get_user(self, user_id: Any) -> Any:
        user = _USER_BY_PK.get(user_id)
        if user is None or not self.user_can_authenticate(user):
            return None
        selectors.user_role_prime(user, getattr(user, "role_group", None))  # an annotation, not a field of User
        return user


def _users_with_profile_and_role_group() -> Any:
    users = get_user_model()._default_manager
    role_group = selectors.role_group_column(users.model._meta.db_table, users.model._meta.pk.column)
    return users.select_related("profile").annotate(role_group=role_group)


# Every page request reads its user (prepared.py says why this lookup is compiled once).
_USER_BY_PK = PreparedLookup(_users_with_profile_and_role_group, "pk")


# As AUTHENTICATION_BACKENDS names it, for logins that did not go through authenticate().
BACKEND_PATH = f"{PortalModelBackend.__module__}.{PortalModelBackend.__qualname__}"
