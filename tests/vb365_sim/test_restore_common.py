"""What every restore shares: credentials, device codes, stopped sessions, v8 runs, knobs and stream faults."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.vb365_sim.conftest import SimClient
from tests.vb365_sim.restore_support import (
    creds,
    knobs,
    mail_items,
    mailbox_with_inbox,
    ok,
    seg,
)

MB = 1024 * 1024


def _items_restore(sim: SimClient, version: int = 7, org_id: str | None = None) -> tuple[str, list[dict[str, str]]]:
    prefix = sim.browse(version, "Vex", org_id=org_id)
    box, inbox = mailbox_with_inbox(sim, version, prefix)
    items = [{"id": i["id"]} for i in mail_items(sim, version, prefix, box, inbox, 2)]
    return f"{prefix}/{seg(version, 'organization/mailboxes')}/{box['id']}/items/restore", items


def _device_code(sim: SimClient, version: int, path: str) -> dict[str, Any]:
    prefix = "/".join(path.split("/")[:3])  # /RestoreSessions/<id>
    return dict(ok(sim.post(version, f"{prefix}/organization/restoreDeviceCode", json={})))


def test_a_wrong_password_or_none_is_refused(sim: SimClient) -> None:
    path, items = _items_restore(sim)
    wrong = sim.post(7, path, json={"items": items, **creds(sim), "userPassword": "not-it"})
    none = sim.post(7, path, json={"items": items})
    assert wrong.status_code == 403 and "user name or password is incorrect" in wrong.json()["message"]
    assert none.status_code == 400 and "credentials are required" in none.json()["message"]


def test_basic_auth_is_refused_for_a_modern_auth_organization(sim: SimClient) -> None:
    path, items = _items_restore(sim, 8, org_id=sim.other_org()["id"])
    r = sim.post(8, path, json={"items": items, **creds(sim)})
    assert r.status_code == 403 and "device code" in r.json()["message"]
    assert r.json()["errorCode"] == "ResourceAccessDenied"


@pytest.mark.parametrize("version", [5, 7, 8])
def test_the_device_code_flow(sim: SimClient, version: int) -> None:
    path, items = _items_restore(sim, version)
    code = _device_code(sim, version, path)
    assert code["verificationUrl"] == "https://microsoft.com/devicelogin" and code["expiresIn"] == 900
    assert code["userCode"] in code["message"]

    def attempt() -> requests.Response:
        if version <= 5:
            return sim.post(version, path.replace("/restore", "/Action"),
                            json={"restoretoOriginallocation": {"items": items, "userCode": code["userCode"]}})
        return sim.post(version, path, json={"items": items, "userCode": code["userCode"]})

    pending = attempt()
    assert pending.status_code == 400 and "not been approved" in pending.json()["message"]
    approved = sim.http.post(f"{sim.base}/_sim/device-codes/{code['userCode']}/approve", timeout=10)
    assert approved.status_code == 200
    assert attempt().status_code == 200


def test_an_unknown_or_expired_device_code_is_refused(fresh_sim: SimClient) -> None:
    sim = fresh_sim
    path, items = _items_restore(sim)
    code = _device_code(sim, 7, path)["userCode"]
    sim.http.post(f"{sim.base}/_sim/device-codes/{code}/approve", timeout=10).raise_for_status()
    unknown = sim.post(7, path, json={"items": items, "userCode": "NOSUCHCODE"})
    assert unknown.status_code == 400 and "not valid" in unknown.json()["message"]
    sim.advance_clock(901)
    expired = sim.post(7, path, json={"items": items, "userCode": code})
    assert expired.status_code == 400 and "expired" in expired.json()["message"]
    assert sim.http.post(f"{sim.base}/_sim/device-codes/NOSUCHCODE/approve", timeout=10).status_code == 404


def test_a_code_of_another_organization_is_not_valid(sim: SimClient) -> None:
    path, items = _items_restore(sim)
    other_path, _ = _items_restore(sim, org_id=sim.other_org()["id"])
    code = _device_code(sim, 7, other_path)["userCode"]
    sim.http.post(f"{sim.base}/_sim/device-codes/{code}/approve", timeout=10).raise_for_status()
    assert sim.post(7, path, json={"items": items, "userCode": code}).status_code == 400


def test_application_certificate_credentials_are_accepted(sim: SimClient) -> None:
    path, items = _items_restore(sim)
    half = sim.post(7, path, json={"items": items, "applicationId": "6f3a1d6e-0000-4000-8000-000000000001"})
    full = sim.post(7, path, json={"items": items, "applicationId": "6f3a1d6e-0000-4000-8000-000000000001",
                                   "applicationCertificate": "TUlJS...", "applicationCertificatePassword": "x"})
    assert half.status_code == 400 and full.status_code == 200


@pytest.mark.parametrize("version", [5, 6, 8])
def test_a_stopped_session_answers_404_on_restore_paths(sim: SimClient, version: int) -> None:
    path, items = _items_restore(sim, version)
    session_id = path.split("/")[2]
    assert sim.stop(version, session_id).status_code in (200, 204)
    if version <= 5:
        r = sim.post(version, path.replace("/restore", "/Action"),
                     json={"restoretoOriginallocation": {"items": items, **creds(sim)}})
    else:
        r = sim.post(version, path, json={"items": items, **creds(sim)})
    save = sim.post(version, path.replace("/restore", "/Action" if version <= 5 else "/Save"),
                    json={"savetoMsg": None} if version <= 5 else {"items": items})
    code = sim.post(version, f"/RestoreSessions/{session_id}/organization/restoreDeviceCode", json={})
    for answer in (r, save, code):
        assert answer.status_code == 404 and "stopped" in answer.json()["message"]
    if version == 8:
        assert r.json()["errorCode"] == "ResourceNotFound"


@pytest.mark.parametrize("version", [1, 3])
def test_item_actions_exist_from_v2(sim: SimClient, version: int) -> None:
    path, items = _items_restore(sim, version)
    r = sim.post(version, path.replace("/restore", "/Action"), json={"exportToPst": {"items": items}})
    # Reference: BROWSE-RESTORE.md §2.8 -- v2-v5 document …/Action bodies; v1 has none (the path is only
    # the GET of an item there, so the POST is refused).
    if version == 1:
        assert r.status_code == 405
    else:
        assert r.status_code == 200 and r.content[:4] == b"!BDN"


def test_a_v8_run_is_a_session_of_its_own_seen_by_its_organization(sim: SimClient) -> None:
    path, items = _items_restore(sim, 8)
    explore_id = path.split("/")[2]
    session_id = ok(sim.post(8, path, json={"items": items, **creds(sim)}))["sessionId"]
    assert session_id != explore_id
    tenant = sim.get(8, f"/RestoreSessions/{session_id}/Statistics", who="tenant")
    operator = sim.get(8, f"/RestoreSessions/{session_id}/Statistics",
                       token=sim.operator_token(8, org_id=sim.tenant_org()["id"]))
    assert tenant.status_code == 200 and operator.status_code == 404
    assert sim.get(8, f"/RestoreSessions/{explore_id}/Statistics").status_code == 404
    assert session_id not in {s["id"] for s in sim.all_sessions(8)}


def test_a_v8_restore_of_10000_items_keeps_progress_current(fresh_sim: SimClient) -> None:
    sim = fresh_sim
    knobs(sim, item_sim_seconds=0.01)  # 500 items per 5 seconds of the clock
    prefix = sim.browse(8, "Vex")
    box, _ = mailbox_with_inbox(sim, 8, prefix)
    session_id = ok(sim.post(8, f"{prefix}/organization/mailboxes/{box['id']}/restore", json=creds(sim)))["sessionId"]
    seen = []
    for _ in range(4):
        sim.advance_clock(5)
        stats = ok(sim.get(8, f"/RestoreSessions/{session_id}/Statistics"))
        seen.append(stats["restoredItemsCount"] + stats["failedItemsCount"] + stats["skippedItemsCount"])
    total = stats["totalItemsCount"]
    assert total > 1500 and seen == [min(total, 500 * k) for k in (1, 2, 3, 4)]
    assert all(i["status"] != "Success" for i in stats["items"])  # big runs list their problems only
    events = ok(sim.get(8, f"/RestoreSessions/{session_id}/Events", params={"offset": total - 2, "limit": 5}))
    assert events["results"][-1]["title"] == "Restore completed"


@pytest.mark.parametrize("version", [6, 8])
def test_v6_holds_the_post_for_the_restore_while_v8_answers_at_once(sim: SimClient, version: int) -> None:
    knobs(sim, item_real_seconds=0.3)
    path, items = _items_restore(sim, version)
    started = time.monotonic()
    ok(sim.post(version, path, json={"items": items, **creds(sim)}))
    held = time.monotonic() - started
    assert held >= 0.6 if version == 6 else held < 0.6


def test_knobs_are_validated(sim: SimClient) -> None:
    bad = sim.http.post(f"{sim.base}/_sim/restore-knobs", json={"bytes_per_second": -1}, timeout=10)
    unknown = sim.http.post(f"{sim.base}/_sim/restore-knobs", json={"warp": 9}, timeout=10)
    assert bad.status_code == 400 and unknown.status_code == 400
    assert knobs(sim, bytes_per_second=5)["bytes_per_second"] == 5
    sim.reset()
    assert sim.http.get(f"{sim.base}/_sim/restore-knobs", timeout=10).json()["bytes_per_second"] == 0


# --- downloads ---


def _document(sim: SimClient, least: int, most: int) -> tuple[str, dict[str, Any]]:
    prefix = sim.browse(8, "Veod")
    drive = ok(sim.get(8, f"{prefix}/Organization/OneDrives", params={"limit": 1}))["results"][0]
    path = f"{prefix}/Organization/OneDrives/{drive['id']}"
    docs = ok(sim.get(8, f"{path}/Documents", params={"parentId": "root", "limit": 1000}))["results"]
    doc = next(d for d in docs if least <= d["sizeBytes"] <= most and not d.get("isFolder"))
    return f"{path}/Documents/{doc['id']}/save", doc


def test_a_cut_stream_fault_stops_a_download_half_way(sim: SimClient) -> None:
    path, doc = _document(sim, 2 * MB, 64 * MB)
    rule = {"path": r"(?i)/documents/[^/]+/save$", "cut_body": True}
    sim.http.post(f"{sim.base}/_sim/faults", json=rule, timeout=10).raise_for_status()
    received = 0
    with pytest.raises(requests.exceptions.ChunkedEncodingError), \
            sim.http.post(f"{sim.base}/v8{path}", json={"asZip": False}, headers=sim.headers(8), stream=True,
                          timeout=30) as r:
        assert int(r.headers["Content-Length"]) == doc["sizeBytes"]
        for chunk in r.iter_content(64 * 1024):
            received += len(chunk)
    assert 0 < received <= doc["sizeBytes"] // 2 + 1


def test_throughput_cap_and_preparation_delay(sim: SimClient) -> None:
    path, doc = _document(sim, 1 * MB, 3 * MB)
    started = time.monotonic()
    assert len(sim.post(8, path, json={"asZip": False}).content) == doc["sizeBytes"]
    free = time.monotonic() - started
    knobs(sim, bytes_per_second=doc["sizeBytes"] * 2)
    started = time.monotonic()
    sim.post(8, path, json={"asZip": False})
    capped = time.monotonic() - started
    knobs(sim, bytes_per_second=0, prepare_real_seconds_per_gib=0.5 * 1024**3 / doc["sizeBytes"])
    started = time.monotonic()
    with sim.http.post(f"{sim.base}/v8{path}", json={"asZip": False}, headers=sim.headers(8), stream=True,
                       timeout=30) as r:
        first_byte = time.monotonic() - started
        assert r.status_code == 200
    assert capped >= 0.45 > free and first_byte >= 0.45


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_a_multi_gigabyte_download_streams_with_flat_memory(sim: SimClient) -> None:
    path, _ = _document(sim, 2 * 1024 * MB, 8 * 1024 * MB)
    before = _rss_mb()
    received, peak = 0, before
    with sim.http.post(f"{sim.base}/v8{path}", json={"asZip": True}, headers=sim.headers(8), stream=True,
                       timeout=60) as r:
        assert r.status_code == 200 and "Content-Length" not in r.headers  # a ZIP goes chunked
        for chunk in r.iter_content(1024 * 1024):
            received += len(chunk)
            if received % (64 * MB) < MB:
                peak = max(peak, _rss_mb())
            if received >= 300 * MB:
                break
    assert received >= 300 * MB
    assert peak - before < 60, f"RSS grew from {before:.0f} MB to {peak:.0f} MB while streaming 300 MB"


# --- send ---


@pytest.mark.parametrize("version", [6, 7, 8])
def test_sending_items_answers_no_body_200_then_204_in_v8(sim: SimClient, version: int) -> None:
    path, items = _items_restore(sim, version)
    base = path.rsplit("/", 1)[0]
    to_other = sim.post(version, f"{base}/sendToDifferentAddress",
                        json={"items": items, "to": "auditor@contoso.example", "subject": "Recovered", "text": "Here"})
    to_self = sim.post(version, f"{base}/sendToDefaultAddress", json={"items": items})
    for r in (to_other, to_self):
        assert r.status_code == (204 if version == 8 else 200) and r.content == b""
    no_to = sim.post(version, f"{base}/sendToDifferentAddress", json={"items": items})
    assert no_to.status_code == 400


def test_sending_needs_the_explorer_email_settings(sim: SimClient) -> None:
    knobs(sim, email_settings_configured=False)
    path, items = _items_restore(sim, 8)
    r = sim.post(8, path.replace("/restore", "/sendToDefaultAddress"), json={"items": items})
    assert r.status_code == 400 and "e-mail notification settings" in r.json()["message"]


def test_sending_documents_and_posts(sim: SimClient) -> None:
    save_path, doc = _document(sim, 1, 4 * MB)
    r = sim.post(8, save_path.replace("/save", "/send"), json={"to": "someone@contoso.example", "subject": "s",
                                                                "text": "t", "skipItemChecks": False})
    assert r.status_code == 204
    prefix = sim.browse(6, "Vet")
    team = ok(sim.get(6, f"{prefix}/organization/teams"))["results"][0]
    channel = ok(sim.get(6, f"{prefix}/organization/teams/{team['id']}/channels"))["results"][0]
    posts = sim.post(6, f"{prefix}/organization/teams/{team['id']}/posts/send",
                     json={"channelId": channel["id"], "to": "someone@contoso.example"})
    assert posts.status_code == 200 and doc["sizeBytes"] > 0, posts.text


def test_outcomes_are_the_same_for_the_same_items_in_every_version(sim: SimClient) -> None:
    knobs(sim, failed_percent=40, skipped_percent=30)
    prefix = sim.browse(8, "Vex")
    box, inbox = mailbox_with_inbox(sim, 8, prefix)
    items = [{"id": i["id"]} for i in mail_items(sim, 8, prefix, box, inbox, 20)]
    v8_id = ok(sim.post(8, f"{prefix}/organization/mailboxes/{box['id']}/items/restore",
                        json={"items": items, **creds(sim)}))["sessionId"]
    sim.advance_clock(60)
    v8 = ok(sim.get(8, f"/RestoreSessions/{v8_id}/Statistics"))
    v7 = ok(sim.post(7, f"{prefix}/organization/mailboxes/{box['id']}/items/restore",
                     json={"items": items, **creds(sim)}))
    again = ok(sim.post(7, f"{prefix}/organization/mailboxes/{box['id']}/items/restore",
                        json={"items": items, **creds(sim)}))
    assert v7 == again
    assert (v7["createdItemsCount"], v7["failedItemsCount"], v7["skippedItemsCount"]) == \
        (v8["restoredItemsCount"], v8["failedItemsCount"], v8["skippedItemsCount"])
    assert 0 < v8["failedItemsCount"] < 20 and 0 < v8["skippedItemsCount"] < 20
