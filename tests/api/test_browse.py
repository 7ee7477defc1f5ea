"""GET /api/sessions/{id}/browse/ (+ search/, node/) against the simulator, v5 to v8."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from sessions_app.models import AuditAction, AuditEvent
from tests.api.conftest import start_body

VERSIONS = [5, 6, 7, 8]


def url(session_id: str, tail: str = "") -> str:
    return f"/api/sessions/{session_id}/browse/{tail}"


def get(client: APIClient, path: str, **params: Any) -> Any:
    response = client.get(path, params)
    assert response.status_code == 200, response.json()
    return response.json()


def follow(client: APIClient, link: str) -> Any:
    response = client.get(link)
    assert response.status_code == 200, response.json()
    return response.json()


def inbox_of(client: APIClient, session_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    mailbox = get(client, url(session_id))["results"][0]
    folders = get(client, url(session_id), node=mailbox["id"])["results"]
    return mailbox, next(folder for folder in folders if folder["details"].get("category") == "Inbox")


@pytest.fixture
def olivia(operator: Any, client_for: Callable[[Any], APIClient]) -> APIClient:
    return client_for(operator)


@pytest.mark.parametrize("version", VERSIONS)
def test_mailbox_folder_pages_and_message_details(upstream, version, operator, olivia, backed_up_org,
                                                  start_session):
    upstream(version)
    session = start_session(operator, backed_up_org)["id"]
    top = get(olivia, url(session))
    assert top["previous"] is None and {entry["kind"] for entry in top["results"]} == {"mailbox"}
    mailbox, inbox = inbox_of(olivia, session)
    assert inbox["kind"] == "folder" and inbox["has_children"] is True

    page = get(olivia, url(session), node=inbox["id"], limit=500)
    ids = [entry["id"] for entry in page["results"]]
    while page["next"]:
        page = follow(olivia, page["next"])
        ids += [entry["id"] for entry in page["results"]]
    assert len(ids) == len(set(ids)) == 1500
    back = follow(olivia, page["previous"])
    assert [entry["id"] for entry in back["results"]] == ids[500:1000]

    message = next(entry for entry in back["results"] if entry["details"].get("item_class") == "IPM.Note")
    detail = get(olivia, url(session, "node/"), node=message["id"])
    assert detail["name"] == detail["details"]["subject"]
    assert {"from", "to", "sent", "received", "attachments"} <= set(detail["details"])
    assert all("size_bytes" in attachment for attachment in detail["details"]["attachments"])


@pytest.mark.parametrize("version", [6, 7, 8])
def test_search_in_a_mailbox(upstream, version, operator, olivia, backed_up_org, start_session):
    upstream(version)
    session = start_session(operator, backed_up_org)["id"]
    mailbox, _ = inbox_of(olivia, session)
    found = get(olivia, url(session, "search/"), node=mailbox["id"], q="contract", limit=5)
    assert found["results"] and found["next"]
    assert all(entry["kind"] == "item" for entry in found["results"])
    more = follow(olivia, found["next"])
    assert not {entry["id"] for entry in found["results"]} & {entry["id"] for entry in more["results"]}


def test_search_before_v6_says_so(upstream, operator, olivia, backed_up_org, start_session):
    upstream(5)
    session = start_session(operator, backed_up_org)["id"]
    mailbox, _ = inbox_of(olivia, session)
    response = olivia.get(url(session, "search/"), {"node": mailbox["id"], "q": "contract"})
    assert response.status_code == 400
    assert response.json()["code"] == "browse_not_supported" and "v6 or later" in response.json()["message"]


@pytest.mark.parametrize("version", [6, 8])
@pytest.mark.parametrize("workload,kinds", [("onedrive", {"drive"}), ("sharepoint", {"site"}), ("teams", {"team"})])
def test_each_workload_lists_its_own_top_level(upstream, version, workload, kinds, operator, olivia, backed_up_org,
                                               start_session):
    upstream(version)
    session = start_session(operator, backed_up_org, workload=workload, show_all_versions=True)["id"]
    top = get(olivia, url(session))
    assert {entry["kind"] for entry in top["results"]} == kinds
    children = get(olivia, url(session), node=top["results"][0]["id"])["results"]
    assert children


def test_a_node_of_another_session_is_404(operator, olivia, backed_up_org, start_session):
    one = start_session(operator, backed_up_org)["id"]
    other = start_session(operator, backed_up_org)["id"]
    mailbox = get(olivia, url(one))["results"][0]
    response = olivia.get(url(other), {"node": mailbox["id"]})
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert olivia.get(url(one), {"node": mailbox["id"][:-3] + "xyz"}).status_code == 404
    assert olivia.get(url(one, "node/"), {"node": "not-a-node"}).status_code == 404


def test_a_stopped_session_is_409(operator, olivia, backed_up_org, start_session):
    session = start_session(operator, backed_up_org)["id"]
    mailbox = get(olivia, url(session))["results"][0]
    assert olivia.post(f"/api/sessions/{session}/stop/").status_code == 200
    for path, params in ((url(session), {}), (url(session), {"node": mailbox["id"]}),
                         (url(session, "node/"), {"node": mailbox["id"]})):
        response = olivia.get(path, params)
        assert response.status_code == 409 and response.json()["code"] == "session_stopped"


@pytest.mark.parametrize("limit", ["0", "501", "many"])
def test_a_bad_limit_is_400(operator, olivia, backed_up_org, start_session, limit):
    session = start_session(operator, backed_up_org)["id"]
    response = olivia.get(url(session), {"limit": limit})
    assert response.status_code == 400 and "limit" in response.json()["extra"]["fields"]


def test_a_tampered_cursor_is_400(operator, olivia, backed_up_org, start_session):
    session = start_session(operator, backed_up_org)["id"]
    response = olivia.get(url(session), {"cursor": "abc:def"})
    assert response.status_code == 400 and response.json()["code"] == "invalid_cursor"


@pytest.mark.parametrize("fault,status", [({"down": True}, 503), ({"status": 500}, 502)])
def test_upstream_faults_use_the_gateway_statuses(operator, olivia, backed_up_org, start_session, sim, fault, status):
    session = start_session(operator, backed_up_org)["id"]
    sim.fault(path="(?i)organization/mailboxes", **fault)
    assert olivia.get(url(session)).status_code == status


def test_upstream_timeout_is_504(operator, olivia, backed_up_org, start_session, sim, settings):
    session = start_session(operator, backed_up_org)["id"]
    settings.VB365_READ_TIMEOUT = 0.5
    sim.fault(latency_ms=2000, path="(?i)organization/mailboxes")
    assert olivia.get(url(session)).status_code == 504


def test_who_may_browse(operator, olivia, auditor, helpdesk, exchange_operator, backed_up_org, start_session,
                        client_for):
    session = start_session(operator, backed_up_org)["id"]
    assert client_for(auditor).get(url(session)).status_code == 403
    assert client_for(helpdesk).get(url(session)).status_code == 403
    assert client_for(exchange_operator).get(url(session)).status_code == 404
    refused = AuditEvent.objects.filter(action=AuditAction.ACCESS_DENIED, session_upstream_id=session)
    assert refused.exists()
    helpdesk_own = start_session(helpdesk, backed_up_org, on_behalf_of=operator.username, ticket="INC-7")["id"]
    assert client_for(helpdesk).get(url(helpdesk_own)).status_code == 200


def test_first_open_is_audited_once(operator, olivia, backed_up_org, start_session):
    session = start_session(operator, backed_up_org)["id"]
    mailbox, inbox = inbox_of(olivia, session)
    get(olivia, url(session), node=mailbox["id"])
    get(olivia, url(session), node=inbox["id"])
    events = AuditEvent.objects.filter(action=AuditAction.BROWSE_OPEN, session_upstream_id=session)
    assert [(event.actor_username, event.details["name"]) for event in events] == [("olivia", mailbox["name"])]


def test_tenant_browses_only_its_own_organization(tenant_api, tenant_organization, provider_session,
                                                  exchange_operator, other_org, start_session, client_for):
    started = tenant_api.post("/api/sessions/", start_body(tenant_organization), format="json")
    assert started.status_code == 201, started.json()
    own = started.json()["id"]
    assert get(tenant_api, url(own))["results"]
    # The provider's session in the tenant's organization: seen, but not browsed.
    assert tenant_api.get(url(str(provider_session.upstream_id))).status_code == 403
    # A session of another organization: not even seen; its node ids mean nothing in the tenant's session.
    assert other_org.pk != tenant_organization.pk
    elsewhere = start_session(exchange_operator, other_org)["id"]
    assert tenant_api.get(url(elsewhere)).status_code == 404
    foreign_mailbox = get(client_for(exchange_operator), url(elsewhere))["results"][0]
    assert tenant_api.get(url(own), {"node": foreign_mailbox["id"]}).status_code == 404
