"""Starting restore sessions in every version family (CONTRACT.md §5, §10 items 5-6)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from tests.vb365_sim.conftest import SimClient


def _events(sim: SimClient, version: int, session_id: str) -> list[dict]:
    return sim.get(version, f"/RestoreSessions/{session_id}/Events").json()["results"]


def test_v1_admin_explore_with_datetime_returns_201_and_point_in_time(sim: SimClient) -> None:
    org = sim.tenant_org()

    r = sim.explore(1, org["id"], datetime="2030.01.02 22:07:39")

    assert r.status_code == 201
    body = r.json()
    assert body["type"] == "Vex" and body["state"] == "Working" and body["result"] == "Success"
    assert body["pointInTime"] == "2030-01-02T22:07:39+00:00"
    assert set(body) == {"id", "type", "pointInTime", "creationTime", "state", "result", "_links"}


@pytest.mark.parametrize("session_type", ["vesp", "Veod", "vet"])
def test_v1_is_exchange_only(sim: SimClient, session_type: str) -> None:
    r = sim.explore(1, sim.tenant_org()["id"], datetime="2024.01.02 10:00:00", type=session_type)

    assert r.status_code == 400
    assert "not supported in v1" in r.json()["message"]


def test_v1_tenant_explore_path(sim: SimClient) -> None:
    r = sim.explore(1, None, who="tenant", datetime="2024.01.02 10:00:00")

    assert r.status_code == 201


@pytest.mark.parametrize("version", [2, 3, 4, 5])
def test_v2_to_v5_action_envelope_is_lenient(sim: SimClient, version: int) -> None:
    # As the PHP portal sends it: PascalCase keys, string booleans, lower-case type.
    r = sim.post(version, f"/Organizations/{sim.tenant_org()['id']}/action",
                 json={"explore": {"DateTime": "2030-01-02 10:00:00.123", "type": "VESP", "ShowAllVersions": "true",
                                   "ShowDeleted": "false"}})

    assert r.status_code == 201
    body = r.json()
    assert body["type"] == "Vesp"
    assert body["organization"] == sim.tenant_org()["name"]
    assert body["initiatedBy"] == "admin"
    assert "pointInTime" not in body and "details" not in body


@pytest.mark.parametrize(("version", "status"), [(2, 400), (3, 400), (4, 400), (5, 201), (6, 201), (8, 201)])
def test_teams_sessions_start_in_v5(sim: SimClient, version: int, status: int) -> None:
    r = sim.explore(version, sim.tenant_org()["id"], datetime="2030-01-01T00:00:00Z", type="vet")

    assert r.status_code == status


@pytest.mark.parametrize("version", [2, 5])
def test_v2_to_v5_tenant_action(sim: SimClient, version: int) -> None:
    r = sim.explore(version, None, who="tenant", datetime="2024.01.02 10:00:00", type="veod")

    assert r.status_code == 201
    assert r.json()["organization"] == sim.tenant_org()["name"]
    assert r.json()["initiatedBy"] == sim.tenant_org()["tenant"]["username"]


def test_action_without_explore_envelope_is_400(sim: SimClient) -> None:
    r = sim.post(4, f"/Organizations/{sim.tenant_org()['id']}/Action", json={"datetime": "2024.01.02 10:00:00"})

    assert r.status_code == 400
    assert "explore" in r.json()["message"]


@pytest.mark.parametrize("version", [6, 7, 8])
@pytest.mark.parametrize("path", ["explore", "Explore", "EXPLORE"])
def test_v6_plus_admin_explore_returns_201(sim: SimClient, version: int, path: str) -> None:
    r = sim.post(version, f"/Organizations/{sim.tenant_org()['id']}/{path}",
                 json={"dateTime": "2030-05-01T10:00:00Z", "type": "Vex", "showDeleted": True, "showAllVersions": True})

    assert r.status_code == 201
    body = r.json()
    assert body["clientHost"] == "127.0.0.1"
    assert body["details"].startswith("Restore point ")
    assert body["_links"]["self"]["href"] == f"/v{version}/RestoreSessions/{body['id']}"
    assert ("eTag" in body) == (version == 8)


@pytest.mark.parametrize("when", ["2024.06.01 10:00:00", "2024-06-01 10:00:00", "2024-06-01 10:00:00.1234567",
                                  "2024-06-01T10:00:00Z", "2024-06-01T12:00:00+02:00", "2024-06-01T10:00:00.123Z"])
def test_documented_date_formats_are_accepted(sim: SimClient, when: str) -> None:
    r = sim.explore(6, sim.tenant_org()["id"], datetime=when)

    assert r.status_code == 201, r.text


@pytest.mark.parametrize("version", [1, 4, 6, 8])
def test_unparseable_date_is_400(sim: SimClient, version: int) -> None:
    r = sim.explore(version, sim.tenant_org()["id"], datetime="next tuesday")

    assert r.status_code == 400
    assert "next tuesday" in r.json()["message"]
    if version == 8:
        assert r.json()["errorCode"] == "ParameterValidationFailure"


@pytest.mark.parametrize("version", [1, 4, 7, 8])
def test_unknown_organization_is_404(sim: SimClient, version: int) -> None:
    r = sim.explore(version, "00000000-0000-4000-8000-00000000beef", datetime="2024-01-01T00:00:00Z")

    assert r.status_code == 404
    if version == 8:
        assert r.json()["errorCode"] == "ResourceNotFound"


@pytest.mark.parametrize(("field", "value"), [("type", "Vmail"), ("type", 7), ("showDeleted", "maybe")])
def test_bad_option_values_are_400(sim: SimClient, field: str, value: object) -> None:
    options: dict[str, Any] = {"dateTime": "2024-01-01T00:00:00Z", field: value}
    r = sim.explore(8, sim.tenant_org()["id"], **options)

    assert r.status_code == 400
    assert r.json()["errorCode"] == "ParameterValidationFailure"


def test_invalid_json_body_is_400(sim: SimClient) -> None:
    r = sim.post(8, f"/Organizations/{sim.tenant_org()['id']}/explore", data="{not json",
                 headers={"Content-Type": "application/json"})

    assert r.status_code == 400


def test_point_in_time_before_first_backup_creates_an_empty_session(sim: SimClient) -> None:
    r = sim.explore(8, sim.tenant_org()["id"], dateTime="2001-01-01T00:00:00Z")

    assert r.status_code == 201
    assert r.json()["details"] == "No backup data found for the specified point in time."
    events = _events(sim, 8, r.json()["id"])
    assert [e["title"] for e in events] == ["Restore session started"]


def test_never_backed_up_organization_still_gets_a_session(sim: SimClient) -> None:
    r = sim.explore(6, sim.empty_org()["id"], dateTime="2024-01-01T00:00:00Z")

    assert r.status_code == 201
    assert r.json()["organization"] == sim.empty_org()["name"]
    assert r.json()["details"].startswith("No backup data")


def test_point_after_last_backup_and_future_use_the_latest_restore_point(sim: SimClient) -> None:
    org = sim.tenant_org()
    latest = sim.get(7, "/RestorePoints", params={"organizationId": org["id"], "limit": 1}).json()["results"][0]

    after = sim.explore(8, org["id"], dateTime=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    future = sim.explore(8, org["id"], dateTime="2999-01-01T00:00:00Z")

    for r in (after, future):
        assert r.status_code == 201
        assert r.json()["details"].startswith(f"Restore point {latest['id']} ")


def test_tenant_explore_v6_plus(sim: SimClient) -> None:
    r = sim.explore(7, None, who="tenant", dateTime="2024-01-01T00:00:00Z", type="Veod")

    assert r.status_code == 201
    assert r.json()["organization"] == sim.tenant_org()["name"]


def test_operator_explore_echoes_scope_and_reason(sim: SimClient) -> None:
    token = sim.operator_token(8, org_id=sim.tenant_org()["id"], user_name="megan@contoso")
    scope = {"type": "User", "id": "u-1", "user": {"id": "u-1", "displayName": "Adele Vance", "name": "adele"}}

    r = sim.post(8, "/Organization/OperatorExplore", token=token,
                 json={"dateTime": "2024-01-01T00:00:00Z", "type": "Vex", "scope": scope, "reason": "Ticket 4711"})

    assert r.status_code == 201
    body = r.json()
    assert (body["scopeName"], body["reason"], body["initiatedBy"]) == ("Adele Vance", "Ticket 4711", "megan@contoso")


def test_operator_explore_without_scope_uses_own_objects(sim: SimClient) -> None:
    token = sim.operator_token(6, org_id=sim.tenant_org()["id"], user_name="lee@contoso")

    r = sim.post(6, "/Organization/OperatorExplore", token=token, json={"datetime": "2024.01.01 00:00:00"})

    assert r.status_code == 201
    assert r.json()["scopeName"] == "lee@contoso"
    assert "reason" not in r.json()  # not nullable in the schema: left out when the operator gave none


@pytest.mark.parametrize(("who", "path"), [("tenant", "/Organizations/{org}/explore"),
                                           ("admin", "/Organization/Explore"),
                                           ("admin", "/Organization/OperatorExplore"),
                                           ("tenant", "/Organization/OperatorExplore")])
def test_explore_paths_are_reserved_to_their_principal(sim: SimClient, who: str, path: str) -> None:
    r = sim.post(8, path.format(org=sim.tenant_org()["id"]), who=who, json={"dateTime": "2024-01-01T00:00:00Z"})

    assert r.status_code == 403
    assert r.json()["errorCode"] == "ResourceAccessDenied"


@pytest.mark.parametrize("version", [1, 5])
def test_v6_explore_paths_do_not_exist_before_v6(sim: SimClient, version: int) -> None:
    r = sim.post(version, f"/Organizations/{sim.tenant_org()['id']}/explore", json={})

    assert r.status_code == 404
