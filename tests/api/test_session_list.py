from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from sessions_app.models import Organization, RestoreSession
from tests.api.conftest import PROVIDER_ONLY_KEYS, PROVIDER_SECRETS, start_body


def fetch_all(client: APIClient, query: str = "") -> list[dict[str, Any]]:
    """Every row of the list, following `next`."""
    rows: list[dict[str, Any]] = []
    url: str | None = f"/api/sessions/?limit=100&{query}"
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json()
        body = response.json()
        rows += body["results"]
        url = body["next"]
    return rows


def test_helpdesk_sees_the_whole_history(client_for: Callable[..., APIClient], helpdesk: Any, history: int) -> None:
    body = client_for(helpdesk).get("/api/sessions/").json()

    assert set(body) == {"count", "count_is_exact", "next", "previous", "results"}
    assert body["count"] == RestoreSession.objects.count() == history
    assert len(body["results"]) == 25
    created = [row["created_at"] for row in body["results"]]
    assert created == sorted(created, reverse=True)


def test_upstream_sessions_have_no_requester(client_for: Callable[..., APIClient], helpdesk: Any,
                                             history: int) -> None:
    row = client_for(helpdesk).get("/api/sessions/?limit=1").json()["results"][0]

    assert row["origin"] == "upstream"
    assert row["requested_by"] is None


def test_paging_with_limit_and_offset(client_for: Callable[..., APIClient], helpdesk: Any, history: int) -> None:
    client = client_for(helpdesk)

    first = client.get("/api/sessions/?limit=10").json()
    second = client.get(first["next"]).json()
    back = client.get(second["previous"]).json()
    tail = client.get(f"/api/sessions/?limit=10&offset={history - 3}").json()

    assert [row["id"] for row in back["results"]] == [row["id"] for row in first["results"]]
    assert not {row["id"] for row in first["results"]} & {row["id"] for row in second["results"]}
    assert "offset=10" in first["next"]
    assert len(tail["results"]) == 3 and tail["next"] is None


def test_limit_is_capped(client_for: Callable[..., APIClient], helpdesk: Any, history: int) -> None:
    assert len(client_for(helpdesk).get("/api/sessions/?limit=1000").json()["results"]) == 100


def test_operator_sees_only_sessions_of_granted_organizations(client_for: Callable[..., APIClient], operator: Any,
                                                              backed_up_org: Organization, history: int) -> None:
    rows = fetch_all(client_for(operator))

    assert rows
    assert {row["organization"]["id"] for row in rows} == {str(backed_up_org.upstream_id)}
    assert len(rows) == RestoreSession.objects.filter(organization=backed_up_org).count()


def test_exchange_operator_sees_only_exchange(client_for: Callable[..., APIClient], exchange_operator: Any,
                                              history: int) -> None:
    rows = fetch_all(client_for(exchange_operator))

    assert {row["workload"] for row in rows} <= {"exchange"}


@pytest.mark.parametrize(("name", "field"), [
    ("workload", "workload"), ("state", "state"), ("result", "result"),
])
def test_choice_filters_narrow(client_for: Callable[..., APIClient], helpdesk: Any, history: int, name: str,
                               field: str) -> None:
    value = RestoreSession.objects.exclude(**{field: ""}).values_list(field, flat=True).first()
    expected = RestoreSession.objects.filter(**{field: value}).count()

    rows = fetch_all(client_for(helpdesk), f"{name}={value}")

    assert 0 < len(rows) == expected < history
    assert {row[name] for row in rows} == {value}


def test_organization_filter_narrows(client_for: Callable[..., APIClient], helpdesk: Any, other_org: Organization,
                                     history: int) -> None:
    rows = fetch_all(client_for(helpdesk), f"organization={other_org.upstream_id}")

    assert 0 < len(rows) == RestoreSession.objects.filter(organization=other_org).count()
    assert {row["organization"]["id"] for row in rows} == {str(other_org.upstream_id)}


def test_requested_by_and_search_filters_narrow(client_for: Callable[..., APIClient], operator: Any,
                                                helpdesk: Any, backed_up_org: Organization, history: int,
                                                start_session: Callable[..., dict[str, Any]]) -> None:
    mine = start_session(operator, backed_up_org, reason="INC-777 lost calendar", scope="room mailbox B12")
    client = client_for(helpdesk)

    by_requester = fetch_all(client, "requested_by=olivia")
    by_reason = fetch_all(client, "search=inc-777")
    by_scope = fetch_all(client, "search=mailbox%20B12")
    nothing = fetch_all(client, "search=no-such-text-anywhere")

    assert [row["id"] for row in by_requester] == [mine["id"]]
    assert [row["id"] for row in by_reason] == [mine["id"]]
    assert [row["id"] for row in by_scope] == [mine["id"]]
    assert nothing == []


def test_started_after_and_before_narrow(client_for: Callable[..., APIClient], helpdesk: Any, history: int) -> None:
    times = sorted(RestoreSession.objects.values_list("creation_time", flat=True))
    middle = times[len(times) // 2]
    client = client_for(helpdesk)
    moment = middle.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    after = fetch_all(client, f"started_after={moment}")
    before = fetch_all(client, f"started_before={moment}")

    assert len(after) + len(before) == history
    assert len(after) == sum(1 for value in times if value >= middle)
    assert len(before) == sum(1 for value in times if value < middle)
    window = fetch_all(client, urlencode({"started_after": middle.isoformat(),
                                          "started_before": (middle + timedelta(seconds=1)).isoformat()}))
    assert 1 <= len(window) < len(after)


def test_ordering_oldest_first(client_for: Callable[..., APIClient], helpdesk: Any, history: int) -> None:
    rows = client_for(helpdesk).get("/api/sessions/?ordering=oldest&limit=20").json()["results"]

    created = [row["created_at"] for row in rows]
    assert created == sorted(created)


@pytest.mark.parametrize("query", [
    "workload=mail", "state=running", "ordering=name", "started_after=last-week", "organization=acme",
])
def test_invalid_filters_are_400_naming_the_field(client_for: Callable[..., APIClient], helpdesk: Any,
                                                  query: str) -> None:
    response = client_for(helpdesk).get(f"/api/sessions/?{query}")

    assert response.status_code == 400
    assert list(response.json()["extra"]["fields"]) == [query.split("=")[0]]


def test_auditor_reads_everything(client_for: Callable[..., APIClient], auditor: Any, history: int) -> None:
    assert client_for(auditor).get("/api/sessions/").json()["count"] == history


def test_user_without_role_is_refused(client_for: Callable[..., APIClient], nobody: Any) -> None:
    assert client_for(nobody).get("/api/sessions/").status_code == 403


def test_anonymous_is_401(api_client: APIClient, db: Any) -> None:
    assert api_client.get("/api/sessions/").status_code == 401


def test_large_histories_say_the_count_is_a_floor_and_still_page_on(client_for: Callable[..., APIClient],
                                                                    helpdesk: Any, history: int,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from sessions_app import selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 10)
    client = client_for(helpdesk)
    first = client.get("/api/sessions/", {"limit": 8}).json()
    assert first["count"] == 10 and first["count_is_exact"] is False
    beyond = client.get("/api/sessions/", {"limit": 8, "offset": 16}).json()
    assert len(beyond["results"]) == 8 and beyond["next"] is not None
    narrow = client.get("/api/sessions/", {"limit": "8", "workload": "teams", "state": "working"}).json()
    assert narrow["count_is_exact"]


def test_a_tenant_sees_that_the_provider_worked_but_none_of_its_internal_fields(
        tenant_api: APIClient, tenant_organization: Organization, provider_session: RestoreSession) -> None:
    own = tenant_api.post("/api/sessions/", start_body(tenant_organization, reason="TENANT-REASON my inbox",
                                                       scope="my mailbox"), format="json")

    rows = {row["id"]: row for row in fetch_all(tenant_api)}

    assert own.status_code == 201, own.json()
    assert set(rows) == {own.json()["id"], str(provider_session.upstream_id)}
    provider = rows[str(provider_session.upstream_id)]
    assert (provider["workload"], provider["state"], provider["started_by_tenant"]) == ("exchange", "working", False)
    assert provider["created_at"] and provider["organization"]["id"] == str(tenant_organization.upstream_id)
    assert (provider["requested_by"], provider["reason"], provider["scope"]) == (None, "", "")
    assert PROVIDER_ONLY_KEYS.isdisjoint(provider)
    assert not any(secret in json.dumps(rows) for secret in PROVIDER_SECRETS)
    mine = rows[own.json()["id"]]
    assert mine["started_by_tenant"] is True and mine["requested_by"].startswith("tenant:")
    assert (mine["reason"], mine["scope"]) == ("TENANT-REASON my inbox", "my mailbox")
    assert PROVIDER_ONLY_KEYS.isdisjoint(mine) and PROVIDER_ONLY_KEYS.isdisjoint(own.json())


@pytest.mark.parametrize("query", [{"search": "INC-PROVIDER"}, {"search": "PROVIDER-REASON"},
                                   {"requested_by": "harry"}])
def test_a_tenants_filters_on_provider_fields_never_match_the_providers_sessions(
        client_for: Callable[..., APIClient], helpdesk: Any, tenant_api: APIClient,
        provider_session: RestoreSession, query: dict[str, str]) -> None:
    seen_by_staff = client_for(helpdesk).get("/api/sessions/", query).json()["count"]
    seen_by_tenant = tenant_api.get("/api/sessions/", query).json()["count"]

    assert (seen_by_staff, seen_by_tenant) == (1, 0)
