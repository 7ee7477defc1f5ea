"""Helpers for the page tests: signing in, starting real sessions on the simulator, reading what a page shows."""
from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from html import unescape
from html.parser import HTMLParser
from typing import Any

import pytest
from django.utils import timezone

from sessions_app.models import Organization, RestoreSession
from sessions_app.services import session_start
from sessions_app.specs import StartSpec

EXPLORE = "POST /v8/Organizations/{organizationId}/explore"
STOP = "POST /v8/RestoreSessions/{restoreSessionId}/Stop"
_counter = itertools.count(1)


def page_text(response: Any) -> str:
    """What a person reads on the page: tags removed, entities decoded, whitespace collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"</?(?:a|strong|em|b|code|time|span|small)\b[^>]*>", "", html)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def textarea_value(response: Any, name: str) -> str:
    match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', response.content.decode(), flags=re.S)
    assert match, f"no textarea named {name}"
    return unescape(match.group(1)).strip()


class _TableParser(HTMLParser):
    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id = table_id
        self.depth = 0
        self.in_body = False
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and (self.depth or dict(attrs).get("id") == self.table_id):
            self.depth += 1
        elif self.depth and tag == "tbody":
            self.in_body = True
        elif self.depth and self.in_body and tag == "tr":
            self.rows.append([])
        elif self.depth and self.in_body and tag == "td":
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1
        elif tag == "tbody":
            self.in_body = False
        elif tag == "td" and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def table_rows(response: Any, table_id: str) -> list[list[str]]:
    """The body rows of the table with this id, as lists of visible cell texts ([] when there is no such table)."""
    parser = _TableParser(table_id)
    parser.feed(response.content.decode())
    return parser.rows


def start_form(organization: Organization, **overrides: Any) -> dict[str, Any]:
    """The start form as a browser posts it: latest backup, Exchange, a reason."""
    data: dict[str, Any] = {
        "submission_key": str(uuid.uuid4()), "organization": str(organization.upstream_id), "point_choice": "latest",
        "point_in_time": "", "restore_point": "", "workload": "exchange", "reason": "Mailbox folder deleted by mistake",
        "scope": "mailbox of j.doe",
    }
    data.update(overrides)
    return data


@pytest.fixture
def start_session() -> Callable[..., RestoreSession]:
    """Start a real session on the simulator through the service, as `actor`."""

    def start(actor: Any, organization: Organization, **overrides: Any) -> RestoreSession:
        call = {name: overrides.pop(name) for name in ("key", "client", "client_address") if name in overrides}
        spec = StartSpec(**{"organization": organization, "workload": "exchange", "reason": "User deleted a folder",
                            **overrides})
        return session_start.restore_session_start(actor=actor, key=call.pop("key", str(uuid.uuid4())), spec=spec,
                                                   **call)

    return start


def make_session(organization: Organization | None, **overrides: Any) -> RestoreSession:
    """A cached session written straight to the database, for pure list tests (no upstream call)."""
    n = next(_counter)
    fields: dict[str, Any] = {
        "upstream_id": uuid.uuid4(), "organization": organization,
        "organization_name": organization.name if organization else "", "workload": "exchange",
        "state": "stopped", "result": "success",
        "creation_time": datetime(2026, 11, 1, 12, 0, tzinfo=dt_timezone.utc) - timedelta(minutes=n),
        "fetched_at": timezone.now(), "api_version": 8, "reason": f"reason {n}",
        # Already read once, so that opening the page does not ask VB365 about a session it never had.
        "events_fetched_at": timezone.now(),
    }
    fields.update(overrides)
    return RestoreSession.objects.create(**fields)


@pytest.fixture
def signed_in(client: Any) -> Callable[[Any], Any]:
    def sign_in(user: Any) -> Any:
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def tenant_pages(client: Any, tenant_organization: Organization, tenant_credentials: dict[str, str]) -> Any:
    """Signed in on "Sign in with your Microsoft 365 organization" (VB365 checks the credentials)."""
    from django.urls import reverse

    response = client.post(reverse("sessions_app:tenant-sign-in"), tenant_credentials)
    assert response.status_code == 302
    return client


PROVIDER_SECRETS = ("PROVIDER-REASON", "PROVIDER-SCOPE", "INC-PROVIDER-77", "harry", "olivia")
