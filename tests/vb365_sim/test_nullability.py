"""No null where Veeam's v6-v8 schemas do not allow one (CONTRACT.md "Nullability", issue 12 §4).

A property the OpenAPI file does not mark ``nullable`` is either present with a value or left out. The sets
below are the nullable properties of each schema, transcribed from vb365_rest_v6/v7/v8.json; every other
null anywhere in an answer fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.vb365_sim.conftest import SimClient

# Reference: vb365_rest_v8.json RESTRestoreSession / RESTRestoreSessionEvent / RESTRestorePoint /
# RESTLoggedInOrganization / RESTExceptionInfo / RESTHealthReportEntry / PageOf* (v6 and v7 are subsets).
SESSION = {"endTime"}
EVENT = {"endTime", "organizationId", "backedUpOrganizationId", "userId", "groupId", "siteId", "teamId"}
RESTORE_POINT = {"immutabilityExpiresOn"}
LOGGED_IN_ORGANIZATION = {"description", "firstBackuptime", "lastBackuptime"}
PAGE = {"totalCount"}
ERROR_V8 = {"errorCode", "stackTrace"}
HEALTH = {"description"}
# Reference: RestOrganizationComposed and RESTOffice365ConnectionSettings mark most properties nullable.
ORGANIZATION = {"isTeamsOnline", "isTeamsChatsOnline", "configureApplication", "newApplicationName", "isExchangeOnline",
                "isSharePointOnline", "type", "region", "id", "isBackedup", "firstBackuptime", "lastBackuptime",
                "description", "msid", "backedUpOrganizationId", "isSharepoint", "isExchange",
                "useApplicationOnlyAuth", "sharePointSaveAllWebParts", "grantAdminAccess", "useMfa",
                "useCustomVeeamAADApplication", "applicationId"}
NONE: set[str] = set()


def null_keys(payload: Any) -> Iterator[str]:
    """The name of every property whose value is null, at any depth."""
    if isinstance(payload, dict):
        for key, value in payload.items():
            if value is None:
                yield key
            else:
                yield from null_keys(value)
    elif isinstance(payload, list):
        for item in payload:
            yield from null_keys(item)


def assert_no_stray_null(payload: Any, allowed: set[str]) -> None:
    stray = set(null_keys(payload)) - allowed - PAGE
    assert not stray, f"null where the schema does not allow it: {sorted(stray)}"


def _ok(r: requests.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


VERSIONS = [6, 7, 8]


@pytest.mark.parametrize("version", VERSIONS)
def test_sessions_listed_read_started_and_stopped_have_no_stray_null(sim: SimClient, version: int) -> None:
    org = sim.tenant_org()
    admin_start = _ok(sim.explore(version, org["id"], dateTime="2024-01-01T00:00:00Z"), 201)
    no_data = _ok(sim.explore(version, sim.empty_org()["id"]), 201)
    tenant_start = _ok(sim.explore(version, None, who="tenant", type="Veod"), 201)
    operator = sim.operator_token(version, org_id=org["id"])
    operator_start = _ok(sim.post(version, "/Organization/OperatorExplore", token=operator, json={}), 201)
    sim.stop(version, admin_start["id"])

    payloads = [
        _ok(sim.get(version, "/RestoreSessions", params={"limit": 1000})),
        _ok(sim.get(version, f"/RestoreSessions/{admin_start['id']}")),
        admin_start, no_data, tenant_start, operator_start,
    ]

    for payload in payloads:
        assert_no_stray_null(payload, SESSION)
    # Reference: CONTRACT.md §6.2 -- no scope is "", no reason is left out.
    assert admin_start["scopeName"] == "" and "reason" not in admin_start
    assert "reason" not in operator_start and operator_start["scopeName"]


@pytest.mark.parametrize("version", VERSIONS)
def test_events_have_no_stray_null(sim: SimClient, version: int) -> None:
    stopped = [s for s in sim.all_sessions(version) if s["state"] == "Stopped"][:20]
    pages = [_ok(sim.get(version, f"/RestoreSessions/{s['id']}/Events", params={"limit": 100})) for s in stopped]
    events = [e for p in pages for e in p["results"]]
    one = _ok(sim.get(version, f"/RestoreSessions/{stopped[0]['id']}/Events/{events[0]['id']}"))

    assert {"View", "Restore", "None"} <= {e["type"] for e in events}  # with and without item and target
    for payload in [*pages, one]:
        assert_no_stray_null(payload, EVENT if version == 8 else {"endTime"})


@pytest.mark.parametrize("version", VERSIONS)
def test_restore_points_have_no_stray_null_and_no_retrieval_id(sim: SimClient, version: int) -> None:
    listing = _ok(sim.get(version, "/RestorePoints", params={"limit": 50}))
    points = listing if version == 6 else listing["results"]
    one = _ok(sim.get(version, f"/RestorePoints/{points[0]['id']}"))

    for payload in (listing, one):
        assert_no_stray_null(payload, RESTORE_POINT)
    # Reference: vb365_rest_v6.json RESTRestorePoint -- retrievalId is a uuid, not nullable: left out.
    assert all("retrievalId" not in p for p in [*points, one])


@pytest.mark.parametrize("version", VERSIONS)
def test_organizations_and_the_tenant_view_have_no_stray_null(sim: SimClient, version: int) -> None:
    listing = _ok(sim.get(version, "/Organizations"))
    one = _ok(sim.get(version, f"/Organizations/{sim.empty_org()['id']}"))
    own = _ok(sim.get(version, "/Organization", who="tenant"))

    assert_no_stray_null(listing, ORGANIZATION)
    assert_no_stray_null(one, ORGANIZATION)
    assert_no_stray_null(own, LOGGED_IN_ORGANIZATION)


@pytest.mark.parametrize("version", VERSIONS)
def test_token_settings_and_service_answers_have_no_null(sim: SimClient, version: int) -> None:
    operator = sim.operator_token(version, org_id=sim.tenant_org()["id"])
    payloads = [
        _ok(sim.grant(version, grant_type="password", username="admin", password="admin")),
        _ok(sim.get(version, "/RestorePortalSettings", who=None)),
        _ok(sim.get(version, "/ServiceInstance")),
        _ok(sim.get(version, "/Organization/LoggedInUser", token=operator)),
        _ok(sim.get(version, "/Organization/LoggedInUser/OperatorInfo", token=operator)),
    ]

    for payload in payloads:
        assert_no_stray_null(payload, NONE)


def test_health_has_no_stray_null(sim: SimClient) -> None:
    assert_no_stray_null(_ok(sim.get(8, "/Health", who=None)), HEALTH)


@pytest.mark.parametrize("version", VERSIONS)
def test_errors_have_no_stray_null_and_v7_leaves_error_code_out(sim: SimClient, version: int) -> None:
    sid = sim.explore(version, sim.tenant_org()["id"]).json()["id"]
    sim.stop(version, sid)
    errors = [
        sim.get(version, "/RestoreSessions/00000000-0000-4000-8000-000000000000"),   # 404
        sim.get(version, "/RestoreSessions", params={"limit": "x"}),                 # 400
        sim.get(version, "/Organizations", who="tenant"),                            # 403
        sim.get(version, "/RestoreSessions", token="garbage"),                       # 401
        sim.stop(version, sid),                                                      # 409
    ]

    assert [r.status_code for r in errors] == [404, 400, 403, 401, 409]
    for r in errors:
        body = r.json()
        assert_no_stray_null(body, ERROR_V8 if version == 8 else NONE)
        if version == 7:
            # Reference: vb365_rest_v7.json RESTExceptionInfo -- errorCode's only value is ProxyOffline.
            assert set(body) == {"message"}
        if version == 8 and r.status_code != 401:
            assert body["errorCode"] in {"ResourceNotFound", "ParameterValidationFailure", "ResourceAccessDenied",
                                         "OperationConflict"}
