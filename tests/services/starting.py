"""Starting a session and reading the audit trail, as the start and lifecycle service tests both need."""
from __future__ import annotations

import uuid
from typing import Any

from sessions_app.models import AuditEvent, RestoreSession
from sessions_app.services import session_start
from sessions_app.specs import StartSpec

EXPLORE_V8 = "POST /v8/Organizations/{organizationId}/explore"


def start(actor: Any, organization: Any, **overrides: Any) -> RestoreSession:
    """Start an Exchange session with a reason; `key`, `client` and `client_address` go to the service, the rest
    to the StartSpec."""
    call = {name: overrides.pop(name) for name in ("key", "client", "client_address") if name in overrides}
    spec = StartSpec(**{"organization": organization, "workload": "exchange", "reason": "User deleted a folder",
                        **overrides})
    return session_start.restore_session_start(actor=actor, key=call.pop("key", str(uuid.uuid4())), spec=spec, **call)


def actions_of(session_id: Any = None) -> list[str]:
    """The audit trail's actions in order, of one session when given."""
    events = AuditEvent.objects.order_by("sequence")
    if session_id is not None:
        events = events.filter(session_upstream_id=str(session_id))
    return list(events.values_list("action", flat=True))
