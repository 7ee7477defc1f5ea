"""Teams restores of posts and files, post exports as HTML, file saves (BROWSE-RESTORE.md §2.6, §2.8)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from tests.vb365_sim.conftest import SimClient
from tests.vb365_sim.restore_support import creds, ok, v8_done

FILE_OPTIONS = {"restoreChangedItems": True, "restoreMissingItems": True, "fileVersion": "Last"}


def _team(sim: SimClient, version: int, prefix: str) -> tuple[str, list[dict[str, Any]]]:
    team = ok(sim.get(version, f"{prefix}/organization/teams"))["results"][0]
    base = f"{prefix}/organization/teams/{team['id']}"
    return base, ok(sim.get(version, f"{base}/channels"))["results"]


def _posts(sim: SimClient, version: int, base: str, channel: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    page = ok(sim.get(version, f"{base}/posts", params={"channelId": channel["id"], "limit": 1000}))
    while True:
        out += page["results"]
        if "next" not in page["_links"]:
            return out
        page = ok(sim.follow(version, page["_links"]["next"]["href"]))


def _files(sim: SimClient, version: int, base: str, channel: dict[str, Any]) -> list[dict[str, Any]]:
    everything = ok(sim.get(version, f"{base}/files", params={"channelId": channel["id"], "limit": 1000}))["results"]
    return [f for f in everything if f["fileType"] == "File" and f["sizeBytes"] < 8 * 1024 * 1024]


@pytest.mark.parametrize("version", [6, 7])
def test_restoring_a_channels_posts_by_date_range(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vet")
    base, channels = _team(sim, version, prefix)
    posts = _posts(sim, version, base, channels[0])
    assert sim.post(version, f"{base}/posts/restore", json=creds(sim)).status_code == 400
    whole = ok(sim.post(version, f"{base}/posts/restore", json={"channelId": channels[0]["id"], **creds(sim)}))
    since = sorted(p["createdTime"] for p in posts)[len(posts) // 2]
    later = ok(sim.post(version, f"{base}/posts/restore", json={"channelId": channels[0]["id"], "from": since,
                                                               **creds(sim)}))
    assert whole["totalItemsCount"] == len(posts)
    assert later["totalItemsCount"] == sum(1 for p in posts if p["createdTime"] >= since)
    assert whole["restoredItemsCount"] + whole["failedItemsCount"] + whole["skippedItemsCount"] == len(posts)


def test_v8_posts_restore_reports_teams_posts(sim: SimClient) -> None:
    prefix = sim.browse(8, "Vet")
    base, channels = _team(sim, 8, prefix)
    restored = ok(sim.post(8, f"{base}/posts/restore", json={"channelId": channels[0]["id"], **creds(sim)}))
    session_id = restored["sessionId"]
    done = v8_done(sim, session_id)
    assert done["totalItemsCount"] == len(_posts(sim, 8, base, channels[0]))
    assert {i["itemType"] for i in done["items"]} == {"TeamsPost"}


def test_restoring_files_needs_the_required_options(sim: SimClient) -> None:
    prefix = sim.browse(7, "Vet")
    base, channels = _team(sim, 7, prefix)
    files = _files(sim, 7, base, channels[0])[:2]
    body = {"files": [{"id": f["id"]} for f in files], **creds(sim)}
    missing = sim.post(7, f"{base}/files/restore", json=body)
    assert missing.status_code == 400 and "is required" in missing.json()["message"]
    stats = ok(sim.post(7, f"{base}/files/restore", json={**body, **FILE_OPTIONS}))
    assert stats["totalItemsCount"] == 2


@pytest.mark.parametrize("version", [7, 8])
def test_one_file_restore_moved_under_channels_in_v8(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vet")
    base, channels = _team(sim, version, prefix)
    file = _files(sim, version, base, channels[0])[0]
    old = sim.post(version, f"{base}/files/{file['id']}/restore", json={**FILE_OPTIONS, **creds(sim)})
    new = sim.post(version, f"{base}/channels/{channels[0]['id']}/files/{file['id']}/restore",
                   json={**FILE_OPTIONS, **creds(sim)})
    assert (old.status_code, new.status_code) == ((200, 404) if version == 7 else (404, 200))


@pytest.mark.parametrize("version", [6, 8])
def test_exporting_posts_answers_html(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vet")
    base, channels = _team(sim, version, prefix)
    posts = _posts(sim, version, base, channels[0])[:3]
    r = sim.post(version, f"{base}/posts/export", json={"posts": [{"postId": p["postId"]} for p in posts]})
    assert r.status_code == 200 and r.content.startswith(b"<!DOCTYPE html>")
    assert r.text.count('<div class="post">') == 3
    one = sim.post(version, f"{base}/posts/{posts[0]['postId']}/export")
    assert one.text.count('<div class="post">') == 1 and posts[0]["author"] in one.text


def test_v5_exports_a_channel_through_the_action_body(sim: SimClient) -> None:
    prefix = sim.browse(5, "Vet")
    base, channels = _team(sim, 5, prefix)
    posts = _posts(sim, 5, base, channels[0])
    r = sim.post(5, f"{base}/Posts/Action", json={"export": {"ChannelId": channels[0]["id"]}})
    assert r.status_code == 200 and r.text.count('<div class="post">') == len(posts)


def test_saving_files_answers_a_zip(sim: SimClient) -> None:
    prefix = sim.browse(7, "Vet")
    base, channels = _team(sim, 7, prefix)
    files = _files(sim, 7, base, channels[0])[:3]
    r = sim.post(7, f"{base}/files/save", json={"files": [{"id": f["id"]} for f in files]})
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    assert archive.testzip() is None
    assert sorted((i.filename.rsplit("/", 1)[-1], i.file_size) for i in archive.infolist()) == \
        sorted((f["name"], f["sizeBytes"]) for f in files)
