"""``python -m vb365_sim`` as a subprocess: plain HTTP, --tls, fault flags, --help."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import urllib3

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def run_cli(*args: str) -> Iterator[tuple[str, str]]:
    """Start the CLI on a free port; yield (base URL, banner line); terminate it afterwards."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "vb365_sim", "--host", "127.0.0.1", "--port", str(port), *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert "listening on" in banner, proc.stderr.read() if proc.stderr else banner
        yield banner.split("listening on ", 1)[1].split()[0], banner
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_cli_serves_plain_http_with_given_seed_and_credentials() -> None:
    flags = ("--seed", "3", "--sessions", "25", "--admin-user", "ops", "--admin-password", "pw", "--token-ttl", "60")
    with run_cli(*flags) as (base, banner):
        token = requests.post(f"{base}/v8/Token",
                              data={"grant_type": "password", "username": "ops", "password": "pw"}).json()
        sessions = requests.get(f"{base}/v8/RestoreSessions", params={"limit": 100},
                                headers={"Authorization": f"Bearer {token['access_token']}"}).json()

    assert base.startswith("http://127.0.0.1:")
    assert "seed 3" in banner
    assert token["expires_in"] == 60
    assert len(sessions["results"]) == 25


def test_cli_tls_serves_https_with_a_self_signed_certificate() -> None:
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    with run_cli("--tls", "--sessions", "5") as (base, _):
        ok = requests.post(f"{base}/v6/Token",
                           data={"grant_type": "password", "username": "admin", "password": "admin"}, verify=False)
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{base}/v6/RestorePortalSettings")
        body = requests.get(f"{base}/v6/RestoreSessions", verify=False,
                            headers={"Authorization": f"Bearer {ok.json()['access_token']}"}).json()

    assert base.startswith("https://")
    assert ok.status_code == 200
    assert body["results"][0]["_links"]["self"]["href"].startswith("/v6/")


def test_cli_fault_flags_and_latency() -> None:
    flags = ("--sessions", "5", "--fault-status", "503", "--fault-path", "RestoreSessions", "--latency-ms", "100")
    with run_cli(*flags) as (base, _):
        token = requests.post(f"{base}/v8/Token",
                              data={"grant_type": "password", "username": "admin", "password": "admin"})
        started = time.perf_counter()
        faulted = requests.get(f"{base}/v8/RestoreSessions",
                               headers={"Authorization": f"Bearer {token.json()['access_token']}"})
        elapsed = time.perf_counter() - started
        faults = requests.get(f"{base}/_sim/faults").json()["faults"]

    assert token.status_code == 200
    assert faulted.status_code == 503 and faulted.json()["errorCode"] is None
    assert elapsed >= 0.1
    assert faults[0]["status"] == 503 and faults[0]["path"] == "RestoreSessions"


def test_cli_help_lists_every_flag() -> None:
    out = subprocess.run([sys.executable, "-m", "vb365_sim", "--help"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout

    for flag in ("--host", "--port", "--tls", "--seed", "--sessions", "--latency-ms", "--token-ttl", "--admin-user",
                 "--admin-password", "--fault-status", "--fault-rate", "--fault-path", "--fault-malformed",
                 "--fault-drop", "--fault-down", "--content", "--browse-item-latency-us", "--fault-cut-body",
                 "--export-bytes-per-second", "--export-prepare-seconds-per-gib", "--restore-item-real-seconds",
                 "--restore-item-sim-seconds", "--no-outlook"):
        assert flag in out


def test_cli_content_flag_sizes_the_tenants() -> None:
    with run_cli("--sessions", "5", "--content", "medium") as (base, banner):
        token = requests.post(f"{base}/v7/Token", data={"grant_type": "password", "username": "admin",
                                                        "password": "admin"}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        org = requests.get(f"{base}/_sim/info").json()["organizations"][0]["id"]
        sid = requests.post(f"{base}/v7/Organizations/{org}/explore", json={"type": "Vex"},
                            headers=headers).json()["id"]
        page = requests.get(f"{base}/v7/RestoreSessions/{sid}/organization/mailboxes", params={"limit": 1},
                            headers=headers).json()

    assert "medium content" in banner
    assert page["totalCount"] > 300


def test_cli_restore_knobs_start_the_run_time_knobs() -> None:
    with run_cli("--sessions", "5", "--no-outlook", "--export-bytes-per-second", "1000000",
                 "--restore-item-sim-seconds", "2", "--fault-cut-body", "--fault-path", "exportToPst") as (base, _):
        knobs = requests.get(f"{base}/_sim/restore-knobs").json()
        faults = requests.get(f"{base}/_sim/faults").json()["faults"]

    assert knobs["outlook_installed"] is False and knobs["bytes_per_second"] == 1_000_000
    assert knobs["item_sim_seconds"] == 2
    assert faults == [dict(faults[0], cut_body=True, path="exportToPst")]


def test_cli_rejects_an_invalid_fault() -> None:
    r = subprocess.run([sys.executable, "-m", "vb365_sim", "--fault-status", "42"], cwd=ROOT, capture_output=True,
                       text=True)

    assert r.returncode == 2
    assert "status" in r.stderr
