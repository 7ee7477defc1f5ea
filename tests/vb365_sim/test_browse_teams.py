"""Teams browse paths in every version family that has Teams (v5+; BROWSE-RESTORE.md §1.5, §4.3)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.vb365_sim.conftest import SimClient

FAMILIES = [5, 6, 7, 8]


def _ok(r: Any) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


def _team(sim: SimClient, version: int, prefix: str) -> dict[str, Any]:
    return _ok(sim.get(version, f"{prefix}/organization/teams", params={"limit": 1}))["results"][0]


def _post_id(post: dict[str, Any], version: int) -> int:
    return int(post["id" if version <= 5 else "postId"])


@pytest.mark.parametrize("version", FAMILIES)
def test_teams_and_channels(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vet")
    teams = _ok(sim.get(version, f"{prefix}/organization/teams"))["results"]
    filtered = _ok(sim.get(version, f"{prefix}/organization/teams", params={"displayName": "mark*ing"}))["results"]
    channels = _ok(sim.get(version, f"{prefix}/organization/teams/{teams[0]['id']}/channels"))["results"]

    assert [t["displayName"] for t in filtered] == ["Marketing"]
    assert channels[0]["displayName"] == "General"
    assert all(c["id"].startswith("19:") and c["id"].endswith("@thread.tacv2") for c in channels)
    # Reference: vb365_rest_v8.json RESTTeamsChannelPreview -- ``type`` arrives in v8; settings on teams in v7.
    assert all(("type" in c) == (version >= 8) for c in channels)
    assert ("settings" in teams[0]) == (version >= 7)


def test_channel_types_include_private_and_shared(sim: SimClient) -> None:
    prefix = sim.browse(8, "Vet")
    teams = _ok(sim.get(8, f"{prefix}/organization/teams"))["results"]
    types = {c["type"] for t in teams
             for c in _ok(sim.get(8, f"{prefix}/organization/teams/{t['id']}/channels"))["results"]}

    assert {"Standard", "Private", "Shared"} <= types


@pytest.mark.parametrize("version", FAMILIES)
def test_threads_starters_and_replies(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vet")
    team = _team(sim, version, prefix)
    path = f"{prefix}/organization/teams/{team['id']}/posts"
    channels = _ok(sim.get(version, f"{prefix}/organization/teams/{team['id']}/channels"))["results"]

    threads = [p for c in channels
               for p in _ok(sim.get(version, path, params={"channelId": c["id"], "parentId": -1}))["results"]
               if "children" in p["_links"]]
    starter = threads[0]
    replies = _ok(sim.follow(version, starter["_links"]["children"]["href"]))["results"]
    one = _ok(sim.follow(version, replies[0]["_links"]["self"]["href"]))

    assert isinstance(_post_id(starter, version), int) and _post_id(starter, version) > 10**12
    assert replies and all(_post_id(r, version) > _post_id(starter, version) for r in replies)
    assert one == replies[0]
    if version >= 7:
        assert starter["parentId"] is None and all(r["parentId"] == starter["postId"] for r in replies)
    if version == 5:
        assert "postId" not in starter  # the v5 portal read ``id``


@pytest.mark.parametrize("version", FAMILIES)
def test_files_root_is_one_folder_per_channel(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vet")
    team = _team(sim, version, prefix)
    path = f"{prefix}/organization/teams/{team['id']}/files"
    top = "null" if version <= 5 else "root"
    channels = _ok(sim.get(version, f"{prefix}/organization/teams/{team['id']}/channels"))["results"]

    roots = _ok(sim.get(version, path, params={"parentId": top}))["results"]
    inside = _ok(sim.get(version, path, params={"parentId": roots[0]["id"], "channelId": channels[0]["id"]}))

    assert [r["name"] for r in roots] == [c["displayName"] for c in channels]
    assert all(r["fileType"] == "Folder" for r in roots)
    assert {"File"} <= {f["fileType"] for f in inside["results"]}


def test_folders_only_arrives_in_v7(sim: SimClient) -> None:
    found = {}
    for version in (6, 7):
        prefix = sim.browse(version, "Vet")
        team = _team(sim, version, prefix)
        found[version] = _ok(sim.get(version, f"{prefix}/organization/teams/{team['id']}/files",
                                     params={"foldersOnly": "true", "limit": 1000}))["results"]

    assert {f["fileType"] for f in found[7]} == {"Folder"}
    assert "File" in {f["fileType"] for f in found[6]}


@pytest.mark.parametrize("version", [6, 7, 8])
def test_a_file_by_id_moved_under_channels_in_v8(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vet", showAllVersions=True)
    team = _team(sim, version, prefix)
    files = _ok(sim.get(version, f"{prefix}/organization/teams/{team['id']}/files", params={"limit": 500}))["results"]
    edited = next(f for f in files if f["fileType"] == "File" and f["version"] > 1)
    channel = _ok(sim.get(version, f"{prefix}/organization/teams/{team['id']}/channels"))["results"]
    old_path = f"{prefix}/organization/teams/{team['id']}/files/{edited['id']}"

    by_link = _ok(sim.follow(version, edited["_links"]["self"]["href"]))
    old = sim.get(version, old_path)
    new = [sim.get(version, f"{prefix}/organization/teams/{team['id']}/channels/{c['id']}/files/{edited['id']}")
           for c in channel]

    assert by_link == edited
    if version == 8:
        assert old.status_code == 404 and any(r.status_code == 200 for r in new)
        versions = _ok(sim.follow(version, edited["_links"]["self"]["href"] + "/versions"))["results"]
        assert [v["version"] for v in versions] == list(range(1, edited["version"]))
    else:
        assert old.status_code == 200 and all(r.status_code == 404 for r in new)


@pytest.mark.parametrize("version", FAMILIES)
def test_tabs(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vet")
    team = _team(sim, version, prefix)
    channel = _ok(sim.get(version, f"{prefix}/organization/teams/{team['id']}/channels"))["results"][0]

    tabs = _ok(sim.follow(version, channel["_links"]["tabs"]["href"]))["results"]
    one = _ok(sim.follow(version, tabs[0]["_links"]["self"]["href"]))

    assert one == tabs[0] and one["contentUrl"].startswith("https://") and one["type"]


@pytest.mark.parametrize("version", [6, 7, 8])
def test_channel_children_exist_from_v7(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vet")
    team = _team(sim, version, prefix)
    channel = _ok(sim.get(version, f"{prefix}/organization/teams/{team['id']}/channels"))["results"][0]

    r = sim.get(version, f"{prefix}/organization/teams/{team['id']}/channels/{channel['id']}/children")

    if version == 6:
        assert r.status_code == 404
    else:
        assert [n["type"] for n in r.json()["results"]] == ["Posts", "Files", "Tabs"]


@pytest.mark.parametrize("version", [6, 8])
def test_team_search_needs_a_type_and_a_query(sim: SimClient, version: int) -> None:
    prefix = sim.browse(version, "Vet")
    team = _team(sim, version, prefix)
    path = f"{prefix}/organization/teams/{team['id']}/search"

    posts = _ok(sim.post(version, path, json={"type": "Posts", "query": "subject:budget"}))
    missing = sim.post(version, path, json={"query": "budget"})

    assert posts["results"] and all("budget" in p["subject"].lower() for p in posts["results"])
    assert missing.status_code == 400
