"""POST /vN/Token: grants, response keys, OAuth errors, expiry and 401s (CONTRACT.md §3, §2)."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import pytest
import requests

from tests.vb365_sim.conftest import VERSIONS, SimClient
from vb365_sim import SimClock, serve_in_thread

TOKEN_KEYS = {"access_token", "refresh_token", "token_type", "expires_in", "userName", ".issued", ".expires"}


@pytest.mark.parametrize("version", VERSIONS)
def test_password_grant_returns_exact_oauth_keys(sim: SimClient, version: int) -> None:
    r = sim.grant(version, grant_type="password", username="admin", password="admin")

    assert r.status_code == 200
    body = r.json()
    assert set(body) == TOKEN_KEYS
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["userName"] == "admin"
    issued, expires = parsedate_to_datetime(body[".issued"]), parsedate_to_datetime(body[".expires"])
    assert body[".issued"].endswith(" GMT")
    assert (expires - issued).total_seconds() == pytest.approx(3600, abs=1)


def test_token_path_is_case_insensitive(sim: SimClient) -> None:
    r = sim.http.post(f"{sim.base}/v3/token", data={"grant_type": "password", "username": "ADMIN", "password": "admin"})

    assert r.status_code == 200
    assert r.json()["userName"] == "ADMIN"


@pytest.mark.parametrize("version", [1, 4, 6, 8])
def test_wrong_password_is_400_invalid_grant(sim: SimClient, version: int) -> None:
    r = sim.grant(version, grant_type="password", username="admin", password="nope")

    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"
    assert r.json()["error_description"]
    assert "message" not in r.json()


def test_tenant_credentials_grant_a_tenant_token(sim: SimClient) -> None:
    creds = sim.tenant_org()["tenant"]

    r = sim.grant(6, grant_type="password", username=creds["username"], password=creds["password"])

    assert r.status_code == 200
    assert r.json()["userName"] == creds["username"]


@pytest.mark.parametrize(("version", "grant"), [(1, "operator"), (5, "operator"),
                                               (3, "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                                               (8, "integration"), (8, "client_credentials")])
def test_grant_types_not_served_by_the_version_are_unsupported(sim: SimClient, version: int, grant: str) -> None:
    r = sim.grant(version, grant_type=grant, client_id="x.y", assertion="z")

    assert r.status_code == 400
    assert r.json()["error"] == "unsupported_grant_type"


def test_missing_grant_type_is_invalid_request(sim: SimClient) -> None:
    r = sim.grant(8, username="admin", password="admin")

    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


def test_refresh_token_grant_issues_a_new_pair_once(sim: SimClient) -> None:
    first = sim.grant(6, grant_type="password", username="admin", password="admin").json()

    r = sim.grant(6, grant_type="refresh_token", refresh_token=first["refresh_token"])
    again = sim.grant(6, grant_type="refresh_token", refresh_token=first["refresh_token"])

    assert r.status_code == 200
    assert r.json()["access_token"] != first["access_token"]
    assert r.json()["userName"] == "admin"
    assert sim.get(6, "/RestoreSessions", token=r.json()["access_token"]).status_code == 200
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_operator_grant_needs_the_simulator_assertion(sim: SimClient) -> None:
    org = sim.tenant_org()
    a = sim.http.post(f"{sim.base}/_sim/operator-assertion",
                      json={"organization_id": org["id"], "user_id": "u1", "user_name": "megan"}).json()

    ok = sim.grant(7, grant_type="operator", client_id=a["client_id"], assertion=a["assertion"])
    forged = sim.grant(7, grant_type="operator", client_id=a["client_id"], assertion="not-issued")
    wrong_client = sim.grant(7, grant_type="operator", client_id="other.tenant", assertion=a["assertion"])

    assert ok.status_code == 200
    assert ok.json()["userName"] == "megan"
    assert forged.status_code == 400 and forged.json()["error"] == "invalid_grant"
    assert wrong_client.status_code == 400 and wrong_client.json()["error"] == "invalid_client"


def test_v8_token_accepts_json_body(sim: SimClient) -> None:
    r = sim.http.post(f"{sim.base}/v8/Token", json={"grant_type": "password", "username": "admin", "password": "admin",
                                                    "disable_antiforgery_token": True})

    assert r.status_code == 200
    assert r.json()["userName"] == "admin"


@pytest.mark.parametrize("version", VERSIONS)
def test_missing_or_unknown_bearer_is_401_with_version_error_body(sim: SimClient, version: int) -> None:
    missing = sim.get(version, "/RestoreSessions", who=None)
    unknown = sim.get(version, "/RestoreSessions", token="garbage")

    for r in (missing, unknown):
        assert r.status_code == 401
        assert r.json()["message"] == "Authorization has been denied for this request."
    # v7's errorCode is left out unless it is ProxyOffline (its only enum value); v8 has it and stackTrace.
    expected_keys = {"message"} if version <= 7 else {"message", "errorCode", "stackTrace"}
    assert set(unknown.json()) == expected_keys


def test_access_token_expires_after_ttl_but_refresh_still_works(fresh_sim: SimClient, sim_clock: SimClock) -> None:
    body = fresh_sim.grant(8, grant_type="password", username="admin", password="admin").json()
    sim_clock.advance(3599)
    still_valid = fresh_sim.get(8, "/RestoreSessions", token=body["access_token"])

    sim_clock.advance(1)

    assert still_valid.status_code == 200
    assert fresh_sim.get(8, "/RestoreSessions", token=body["access_token"]).status_code == 401
    refreshed = fresh_sim.grant(8, grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert refreshed.status_code == 200
    assert fresh_sim.get(8, "/RestoreSessions", token=refreshed.json()["access_token"]).status_code == 200


def test_token_times_follow_the_simulator_clock(sim_clock: SimClock) -> None:
    sim_clock.advance(86_400)
    with serve_in_thread(token_ttl=60, sessions=1, clock=sim_clock) as base:
        body = SimClient(base).grant(8, grant_type="password", username="admin", password="admin").json()

    issued = parsedate_to_datetime(body[".issued"]).timestamp()
    assert body["expires_in"] == 60
    assert issued == pytest.approx(sim_clock() / 1_000_000, abs=1)
    assert parsedate_to_datetime(body[".expires"]).timestamp() == pytest.approx(issued + 60, abs=1)


def test_the_control_plane_clock_expires_tokens(sim: SimClient) -> None:
    token = sim.token(8)

    sim.advance_clock(3600)

    assert sim.get(8, "/RestoreSessions", token=token).status_code == 401


def test_logout_revokes_the_access_token(sim: SimClient) -> None:
    token = sim.grant(8, grant_type="password", username="admin", password="admin").json()["access_token"]

    r = sim.post(8, "/Token/logout", token=token)

    assert r.status_code == 204
    assert sim.get(8, "/RestoreSessions", token=token).status_code == 401


def test_custom_admin_credentials() -> None:
    with serve_in_thread(admin_user="CONTOSO\\backup", admin_password="S3cret!", sessions=1) as base:
        ok = requests.post(f"{base}/v2/Token",
                           data={"grant_type": "password", "username": "contoso\\backup", "password": "S3cret!"})
        default = requests.post(f"{base}/v2/Token",
                                data={"grant_type": "password", "username": "admin", "password": "admin"})

    assert ok.status_code == 200
    assert default.status_code == 400
