"""RestorePortalSettings, ServiceInstance, Health, and routing errors (CONTRACT.md §1, §9, §10 item 1)."""

from __future__ import annotations

import pytest

from tests.vb365_sim.conftest import SimClient


@pytest.mark.parametrize("version", [6, 7, 8])
def test_restore_portal_settings_are_anonymous(sim: SimClient, version: int) -> None:
    r = sim.get(version, "/RestorePortalSettings", who=None)

    assert r.status_code == 200
    body = r.json()
    assert body["isEnabled"] is True
    assert len(body["applicationId"]) == 36
    assert body["msalAuthorityUri"].startswith("https://login.microsoftonline.com/")
    assert ("restorePortalUri" in body) == (version >= 7)


@pytest.mark.parametrize("version", [6, 7, 8])
def test_service_instance_needs_a_token(sim: SimClient, version: int) -> None:
    anonymous = sim.get(version, "/ServiceInstance", who=None)
    body = sim.get(version, "/ServiceInstance").json()

    assert anonymous.status_code == 401
    assert set(body) == {"installationId", "version"}
    assert body["version"].startswith("8.")


def test_health_is_anonymous_in_v8_only(sim: SimClient) -> None:
    r = sim.get(8, "/Health", who=None)

    assert r.status_code == 200
    assert r.json()["status"] == "Healthy" and r.json()["entries"]
    assert sim.get(7, "/Health", who=None).status_code == 404


@pytest.mark.parametrize("version", [1, 5])
def test_v6_service_endpoints_do_not_exist_before_v6(sim: SimClient, version: int) -> None:
    assert sim.get(version, "/RestorePortalSettings", who=None).status_code == 404
    assert sim.get(version, "/ServiceInstance").status_code == 404


@pytest.mark.parametrize("path", ["/v9/Token", "/v0/RestoreSessions", "/api/v8/RestoreSessions", "/"])
def test_unknown_version_prefix_is_404(sim: SimClient, path: str) -> None:
    r = sim.http.post(f"{sim.base}{path}", data={"grant_type": "password", "username": "admin", "password": "admin"})

    assert r.status_code == 404
    assert set(r.json()) == {"message"}


@pytest.mark.parametrize(("version", "keys"), [(6, {"message"}), (7, {"message"}),
                                               (8, {"message", "errorCode", "stackTrace"})])
def test_unknown_resource_is_404_with_version_error_body(sim: SimClient, version: int, keys: set[str]) -> None:
    r = sim.get(version, "/NoSuchThing")

    assert r.status_code == 404
    assert set(r.json()) == keys
    assert "No HTTP resource" in r.json()["message"]


def test_wrong_method_is_405(sim: SimClient) -> None:
    r = sim.http.delete(f"{sim.base}/v8/RestoreSessions", headers=sim.headers(8))

    assert r.status_code == 405
    assert r.json()["message"]
