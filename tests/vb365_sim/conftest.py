"""Fixtures for the simulator contract tests: real HTTP against ``serve_in_thread`` on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from vb365_sim import SimClock, serve_in_thread

VERSIONS = [1, 2, 3, 4, 5, 6, 7, 8]
_HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Every test here talks HTTP to the simulator: tag them with the project's `integration` marker.
    for item in items:
        if _HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.integration)


class SimClient:
    """A thin requests wrapper that knows the simulator's credentials (from ``/_sim/info``)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.info: dict[str, Any] = self.http.get(f"{base}/_sim/info", timeout=10).json()
        self._tokens: dict[tuple[int, str], str] = {}

    # --- data ---
    @property
    def orgs(self) -> list[dict[str, Any]]:
        return self.info["organizations"]

    def tenant_org(self) -> dict[str, Any]:
        return next(o for o in self.orgs if o["tenant"])

    def other_org(self) -> dict[str, Any]:
        """A backed-up organization that is not ``tenant_org()``."""
        tenant = self.tenant_org()
        return next(o for o in self.orgs if o["is_backed_up"] and o["id"] != tenant["id"])

    def empty_org(self) -> dict[str, Any]:
        return next(o for o in self.orgs if not o["is_backed_up"])

    # --- auth ---
    def grant(self, version: int, **form: str) -> requests.Response:
        return self.http.post(f"{self.base}/v{version}/Token", data=form, timeout=10)

    def token(self, version: int, who: str = "admin") -> str:
        key = (version, who)
        if key not in self._tokens:
            if who == "admin":
                creds = self.info["admin"]
            elif who == "tenant":
                creds = self.tenant_org()["tenant"]
            else:
                raise ValueError(who)
            r = self.grant(version, grant_type="password", username=creds["username"], password=creds["password"])
            assert r.status_code == 200, r.text
            self._tokens[key] = r.json()["access_token"]
        return self._tokens[key]

    def operator_token(self, version: int, *, org_id: str, user_id: str = "u-megan",
                       user_name: str = "megan@contoso") -> str:
        a = self.http.post(
            f"{self.base}/_sim/operator-assertion",
            json={"organization_id": org_id, "user_id": user_id, "user_name": user_name},
            timeout=10,
        ).json()
        r = self.grant(version, grant_type="operator", client_id=a["client_id"], assertion=a["assertion"])
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    # --- control plane ---
    def reset(self) -> None:
        """The simulator as it started (``POST /_sim/reset``); tokens granted before are gone."""
        self.http.post(f"{self.base}/_sim/reset", timeout=10).raise_for_status()
        self._tokens.clear()

    def advance_clock(self, seconds: float) -> None:
        r = self.http.post(f"{self.base}/_sim/clock", json={"advance_seconds": seconds}, timeout=10)
        r.raise_for_status()

    def headers(self, version: int, who: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(version, who)}"}

    # --- calls ---
    def get(self, version: int, path: str, who: str | None = "admin", token: str | None = None,
            **kw: Any) -> requests.Response:
        headers = {**self._auth(version, who, token), **kw.pop("headers", {})}
        return self.http.get(f"{self.base}/v{version}{path}", headers=headers, timeout=30, **kw)

    def post(self, version: int, path: str, who: str | None = "admin", token: str | None = None,
             **kw: Any) -> requests.Response:
        headers = {**self._auth(version, who, token), **kw.pop("headers", {})}
        return self.http.post(f"{self.base}/v{version}{path}", headers=headers, timeout=30, **kw)

    def _auth(self, version: int, who: str | None, token: str | None) -> dict[str, str]:
        if token is not None:
            return {"Authorization": f"Bearer {token}"}
        return self.headers(version, who) if who else {}

    def explore(self, version: int, org_id: str | None = None, who: str = "admin", token: str | None = None,
                **options: Any) -> requests.Response:
        """Start a session the way the version does it (admin path when org_id is given)."""
        if version <= 5:
            if org_id is not None:
                path = f"/Organizations/{org_id}/Action"
            else:
                path = "/RestoreSessions/Action" if version == 1 else "/Organization/Action"
            return self.post(version, path, who=who, token=token, json={"explore": options})
        path = f"/Organizations/{org_id}/explore" if org_id is not None else "/Organization/Explore"
        return self.post(version, path, who=who, token=token, json=options)

    def stop(self, version: int, session_id: str, who: str = "admin", token: str | None = None) -> requests.Response:
        if version <= 5:
            return self.post(version, f"/RestoreSessions/{session_id}/Action", who=who, token=token,
                             json={"stop": None})
        return self.post(version, f"/RestoreSessions/{session_id}/Stop", who=who, token=token)

    def browse(self, version: int, session_type: str, org_id: str | None = None, **options: Any) -> str:
        """Start a session of ``session_type`` on ``org_id`` (the tenant org by default); return the path
        prefix ``/RestoreSessions/<id>`` its browse paths hang from."""
        r = self.explore(version, org_id or self.tenant_org()["id"], type=session_type, **options)
        assert r.status_code == 201, r.text
        return f"/RestoreSessions/{r.json()['id']}"

    def follow(self, version: int, href: str, who: str = "admin", method: str = "GET", **kw: Any) -> requests.Response:
        """Call a ``_links`` href: absolute (v1-v5) or server-relative (v6+)."""
        url = href if href.startswith("http") else f"{self.base}{href}"
        return self.http.request(method, url, headers=self.headers(version, who), timeout=30, **kw)

    def all_sessions(self, version: int = 8, who: str = "admin", token: str | None = None,
                     **params: Any) -> list[dict[str, Any]]:
        r = self.get(version, "/RestoreSessions", who=who, token=token, params={"limit": 10000, **params})
        assert r.status_code == 200, r.text
        return list(r.json()["results"])


@pytest.fixture(scope="module")
def _module_sim() -> Iterator[SimClient]:
    with serve_in_thread(seed=1, sessions=200) as base:
        client = SimClient(base)
        yield client
        client.http.close()


@pytest.fixture
def sim(_module_sim: SimClient) -> SimClient:
    """A simulator (seed 1, 200 history sessions) reset to its start state for each test, so no test sees
    what another started, stopped, granted, faulted or how far it moved the clock."""
    _module_sim.reset()
    return _module_sim


@pytest.fixture
def sim_clock() -> SimClock:
    """A clock standing still at the present until the test advances it."""
    return SimClock.frozen()


@pytest.fixture
def fresh_sim(sim_clock: SimClock) -> Iterator[SimClient]:
    """A simulator of its own on ``sim_clock`` (a live session's item event every 0.2 s of that clock),
    for tests that read counters from zero or move time."""
    with serve_in_thread(seed=7, sessions=40, event_interval_s=0.2, clock=sim_clock) as base:
        client = SimClient(base)
        yield client
        client.http.close()
