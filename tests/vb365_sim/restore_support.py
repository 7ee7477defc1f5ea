"""Helpers for the restore contract tests: finding objects to act on and the credentials that work."""

from __future__ import annotations

from typing import Any

import requests

from tests.vb365_sim.conftest import SimClient


def ok(r: requests.Response) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


def seg(version: int, v6_template: str) -> str:
    """``organization/mailboxes`` in v6+, ``Organization/Mailboxes`` up to v5 (both match; v5 spells this)."""
    if version >= 6:
        return v6_template
    return "/".join(s[0].upper() + s[1:] if s and not s.startswith("{") else s for s in v6_template.split("/"))


def top(version: int) -> str:
    return "null" if version <= 5 else "root"


def creds(sim: SimClient) -> dict[str, str]:
    tenant = sim.tenant_org()["tenant"]
    return {"userName": tenant["username"], "userPassword": tenant["password"]}


def knobs(sim: SimClient, **values: Any) -> dict[str, Any]:
    r = sim.http.post(f"{sim.base}/_sim/restore-knobs", json=values, timeout=10)
    assert r.status_code == 200, r.text
    return dict(r.json())


def restore_post(sim: SimClient, version: int, path: str, verb: str, body: dict[str, Any],
                 **kw: Any) -> requests.Response:
    """The v6+ verb endpoint ``path/verb``, or up to v5 ``path/Action`` with ``{verb: body}``."""
    if version <= 5:
        verb = {"restore": "restoretoOriginallocation", "Save": "savetoMsg", "save": "save"}.get(verb, verb)
        return sim.post(version, f"{path}/Action", json={verb: body}, **kw)
    return sim.post(version, f"{path}/{verb}", json=body, **kw)


def v8_done(sim: SimClient, session_id: str, seconds: float = 600) -> dict[str, Any]:
    sim.advance_clock(seconds)
    return dict(ok(sim.get(8, f"/RestoreSessions/{session_id}/Statistics")))


# --- Exchange ---

def mailbox_with_inbox(sim: SimClient, version: int, prefix: str,
                       index: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    boxes = ok(sim.get(version, f"{prefix}/{seg(version, 'organization/mailboxes')}"))["results"]
    box = boxes[index]
    folders = ok(sim.get(version, f"{prefix}/{seg(version, 'organization/mailboxes')}/{box['id']}/folders",
                         params={"parentId": top(version)}))["results"]
    return box, folders[0]


def small_folder(sim: SimClient, version: int, prefix: str, box: dict[str, Any], most: int = 40) -> dict[str, Any]:
    """A folder of ``box`` with between 1 and ``most`` items (keeps PST downloads small)."""
    base = f"{prefix}/{seg(version, 'organization/mailboxes')}/{box['id']}"
    param = "parentId" if version >= 7 else "folderId"
    for folder in ok(sim.get(version, f"{base}/folders", params={"limit": 200}))["results"]:
        page = ok(sim.get(version, f"{base}/items", params={param: folder["id"], "limit": most + 1}))
        if 0 < len(page["results"]) <= most:
            return dict(folder, item_count=len(page["results"]))
    raise AssertionError("no small folder")


def mail_items(sim: SimClient, version: int, prefix: str, box: dict[str, Any], folder: dict[str, Any],
               limit: int) -> list[dict[str, Any]]:
    param = "parentId" if version >= 7 else "folderId"
    base = f"{prefix}/{seg(version, 'organization/mailboxes')}/{box['id']}"
    return list(ok(sim.get(version, f"{base}/items", params={param: folder["id"], "limit": limit}))["results"])
