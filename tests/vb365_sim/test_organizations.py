"""Organizations: admin list and item, tenant /Organization (CONTRACT.md §4.1, §4.2)."""

from __future__ import annotations

import pytest

from tests.vb365_sim.conftest import VERSIONS, SimClient


@pytest.mark.parametrize("version", [1, 2, 5, 6, 7])
def test_organizations_is_a_plain_array_up_to_v7(sim: SimClient, version: int) -> None:
    r = sim.get(version, "/Organizations")

    assert r.status_code == 200
    assert isinstance(r.json(), list)
    assert [o["id"] for o in r.json()] == [o["id"] for o in sim.orgs]
    assert r.headers["Content-Type"].startswith("application/json")


def test_organizations_is_a_page_in_v8(sim: SimClient) -> None:
    r = sim.get(8, "/Organizations", params={"limit": 2, "offset": 1})

    body = r.json()
    assert r.status_code == 200
    assert {"offset", "limit", "results", "_links"} <= set(body)
    assert (body["offset"], body["limit"]) == (1, 2)
    assert [o["id"] for o in body["results"]] == [o["id"] for o in sim.orgs[1:3]]
    assert body["_links"]["next"]["href"] == "/v8/Organizations?offset=3&limit=2"
    assert body["_links"]["prev"]["href"] == "/v8/Organizations?offset=0&limit=2"


@pytest.mark.parametrize("version", VERSIONS)
def test_backed_up_organization_fields_and_casing(sim: SimClient, version: int) -> None:
    org = sim.tenant_org()

    body = sim.get(version, f"/Organizations/{org['id']}").json()

    assert body["id"] == org["id"]
    assert body["name"] == org["name"]
    assert body["type"] == "Office365"
    assert body["firstBackuptime"].startswith(org["first_backup"][:19])
    assert body["lastBackuptime"].startswith(org["last_backup"][:19])
    # Reference: the v1 example prints isBackedup as a string.
    assert body["isBackedup"] == ("true" if version == 1 else True)
    assert "_actions" in body and "self" in body["_links"]
    assert ("officeName" in body) == (version >= 6)
    assert ("description" in body) == (version >= 7)
    assert ("msid" in body and "backedUpOrganizationId" in body) == (version >= 8)
    assert ("username" in body) == (version <= 5)


@pytest.mark.parametrize("version", VERSIONS)
def test_never_backed_up_organization_has_no_backup_times(sim: SimClient, version: int) -> None:
    org = sim.empty_org()

    body = sim.get(version, f"/Organizations/{org['id']}").json()

    assert body["isBackedup"] in (False, "false")
    assert "firstBackuptime" not in body and "lastBackuptime" not in body


@pytest.mark.parametrize(("version", "expected"), [(1, "http://127.0.0.1:{port}/v1/organizations/{id}"),
                                                   (4, "http://127.0.0.1:{port}/v4/organizations/{id}"),
                                                   (6, "/v6/Organizations/{id}"), (8, "/v8/Organizations/{id}")])
def test_organization_self_link_style_per_version(sim: SimClient, version: int, expected: str) -> None:
    org = sim.tenant_org()
    port = sim.base.rsplit(":", 1)[1]

    body = sim.get(version, f"/Organizations/{org['id']}").json()

    assert body["_links"]["self"]["href"] == expected.format(port=port, id=org["id"])


@pytest.mark.parametrize("version", [1, 5, 8])
def test_unknown_organization_is_404(sim: SimClient, version: int) -> None:
    r = sim.get(version, "/Organizations/00000000-0000-4000-8000-000000000001")

    assert r.status_code == 404
    assert "was not found" in r.json()["message"]
    if version == 8:
        assert r.json()["errorCode"] == "ResourceNotFound"


@pytest.mark.parametrize("version", [2, 3, 4, 5, 6, 7, 8])
def test_tenant_token_sees_its_own_organization(sim: SimClient, version: int) -> None:
    org = sim.tenant_org()

    body = sim.get(version, "/Organization", who="tenant").json()

    assert body["id"] == org["id"]
    assert body["name"] == org["name"]
    assert body["isBackedup"] is True
    expected = {"id", "name", "type", "isBackedup", "firstBackuptime", "lastBackuptime", "_actions"}
    assert set(body) == expected | ({"description"} if version >= 7 else set())


@pytest.mark.parametrize("version", [1, 5, 8])
def test_tenant_token_cannot_list_organizations(sim: SimClient, version: int) -> None:
    r = sim.get(version, "/Organizations", who="tenant")

    assert r.status_code == 403
    assert r.json()["message"]


def test_admin_token_has_no_logged_in_organization(sim: SimClient) -> None:
    r = sim.get(8, "/Organization")

    assert r.status_code == 403
    assert r.json()["errorCode"] == "ResourceAccessDenied"


def test_v1_has_no_singular_organization(sim: SimClient) -> None:
    assert sim.get(1, "/Organization", who="tenant").status_code == 404


def test_paths_match_case_insensitively(sim: SimClient) -> None:
    r = sim.http.get(f"{sim.base}/V8/oRgAnIzAtIoNs", headers=sim.headers(8))

    assert r.status_code == 200
    assert len(r.json()["results"]) == len(sim.orgs)
