"""The shared test fixtures keep tests apart: a reset simulator per test, browser settings only for browser tests."""
from __future__ import annotations

import os
import shutil
from typing import Any

import pytest
import requests

from tests.conftest import SimControl
from tests.e2e import conftest as e2e


def test_outside_browser_tests_django_refuses_orm_calls_under_an_event_loop():
    # The browser tests' conftest allows them for its package alone (tests/e2e/conftest.py).
    assert "DJANGO_ALLOW_ASYNC_UNSAFE" not in os.environ, "set for the whole run: unset it in your shell"


def test_chromium_comes_from_the_setting_first(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(e2e.CHROMIUM_SETTING, "/opt/chrome/chrome")

    assert e2e.chromium_executable() == "/opt/chrome/chrome"


def test_chromium_otherwise_comes_from_the_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Any):
    monkeypatch.delenv(e2e.CHROMIUM_SETTING, raising=False)
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))

    assert e2e.chromium_executable() == str(fake) == shutil.which("chromium")


def test_without_setting_or_chromium_on_the_path_playwright_uses_its_own(monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Any):
    monkeypatch.delenv(e2e.CHROMIUM_SETTING, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))

    assert e2e.chromium_executable() is None


def test_the_simulator_reset_forgets_what_a_test_did(sim: SimControl):
    admin = sim.info()["admin"]
    token = requests.post(f"{sim.url}/v8/Token", data={"grant_type": "password", **admin}, timeout=5).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    org = sim.organization(backed_up=True)
    started = requests.post(f"{sim.url}/v8/Organizations/{org['id']}/explore", json={}, headers=headers, timeout=5)
    sim.fault(status=503, path="Health")
    sim.advance_clock(7200)

    sim.reset()

    assert started.status_code == 201
    assert requests.get(f"{sim.url}/v8/Health", timeout=5).status_code == 200
    assert requests.get(f"{sim.url}/v8/RestoreSessions", headers=headers, timeout=5).status_code == 401
    assert sim.stats()["requests"] == {"GET /v8/Health": 1, "GET /v8/RestoreSessions": 1}
    assert requests.get(f"{sim.url}/_sim/clock", timeout=5).json()["offset_seconds"] == 0
