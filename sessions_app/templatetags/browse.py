"""What the session page needs to show the explorer."""
from __future__ import annotations

from typing import Any

from django import template

from sessions_app.models import RestoreSession
from sessions_app.services import browse

register = template.Library()


@register.simple_tag
def browse_allowed(user: Any, session: RestoreSession) -> bool:
    """May `user` browse `session`'s contents now (it works, and the role may)?"""
    return browse.browse_allowed(actor=user, session=session)
