from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework.test import APIClient

from sessions_app.models import Organization, Role
from tests.conftest import SimControl, make_user

ORGANIZATION_KEYS = {"id", "name", "is_backed_up", "first_backup", "last_backup"}


def test_operator_sees_only_granted_organizations(client_for: Callable[..., APIClient], operator: Any,
                                                   backed_up_org: Organization) -> None:
    response = client_for(operator).get("/api/organizations/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "count_is_exact", "next", "previous", "results"}
    assert body["count"] == 1
    assert body["results"][0]["id"] == str(backed_up_org.upstream_id)
    assert set(body["results"][0]) == ORGANIZATION_KEYS


def test_organization_payload_matches_the_upstream(client_for: Callable[..., APIClient], helpdesk: Any,
                                                   sim: SimControl) -> None:
    expected = sim.organization(backed_up=True)

    results = client_for(helpdesk).get("/api/organizations/?limit=100").json()["results"]

    found = next(row for row in results if row["id"] == expected["id"])
    assert found == {"id": expected["id"], "name": expected["name"], "is_backed_up": True,
                     "first_backup": expected["first_backup"], "last_backup": expected["last_backup"]}
    never = next(row for row in results if not row["is_backed_up"])
    assert never["first_backup"] is None and never["last_backup"] is None


def test_helpdesk_sees_every_organization_in_pages(client_for: Callable[..., APIClient], helpdesk: Any,
                                                   organizations: list[Organization]) -> None:
    client = client_for(helpdesk)
    total = Organization.objects.count()
    assert total >= 3

    first = client.get("/api/organizations/?limit=2").json()
    second = client.get(first["next"]).json()

    assert first["count"] == total
    assert len(first["results"]) == 2
    assert first["previous"] is None
    assert "offset=2" in first["next"]
    assert second["previous"] is not None
    names = [row["name"] for row in first["results"] + second["results"]]
    assert names == sorted(Organization.objects.values_list("name", flat=True))[:len(names)]


def test_user_without_role_is_refused(client_for: Callable[..., APIClient], nobody: Any) -> None:
    response = client_for(nobody).get("/api/organizations/")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_anonymous_is_401(api_client: APIClient, db: Any) -> None:
    assert api_client.get("/api/organizations/").status_code == 401


def test_upstream_down_serves_the_last_known_list(client_for: Callable[..., APIClient], helpdesk: Any,
                                                  sim: SimControl) -> None:
    sim.fault(status=503, path="Organizations")

    response = client_for(helpdesk).get("/api/organizations/?refresh=true")

    assert response.status_code == 200
    assert response.json()["count"] == Organization.objects.count()


def test_upstream_down_without_any_cached_list_is_503(client_for: Callable[..., APIClient], db: Any,
                                                      upstream: Callable[[int], SimControl],
                                                      sim: SimControl) -> None:
    user = make_user("henry", Role.HELPDESK)
    sim.fault(status=503, path="Organizations")

    response = client_for(user).get("/api/organizations/")

    assert response.status_code == 503
    assert response["Retry-After"].isdigit()
    assert response.json()["code"] == "upstream_unavailable"


def test_first_load_reads_organizations_from_the_upstream(client_for: Callable[..., APIClient], db: Any,
                                                          upstream: Callable[[int], SimControl],
                                                          sim: SimControl) -> None:
    user = make_user("henry", Role.HELPDESK)

    response = client_for(user).get("/api/organizations/")

    assert response.status_code == 200
    assert response.json()["count"] == len(sim.info()["organizations"])


def test_invalid_refresh_flag_is_400(client_for: Callable[..., APIClient], helpdesk: Any) -> None:
    response = client_for(helpdesk).get("/api/organizations/?refresh=maybe")

    assert response.status_code == 400
    assert "refresh" in response.json()["extra"]["fields"]
