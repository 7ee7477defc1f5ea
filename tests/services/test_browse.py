"""The browse service against the simulator over HTTP: who may browse, node ids, the pages' cache, the audit."""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from sessions_app import exceptions, selectors
from sessions_app.models import AuditAction, AuditEvent, RestoreSession, SessionState
from sessions_app.services import browse, restore_sessions, session_start
from sessions_app.specs import StartSpec
from sessions_app.upstream import errors

MAILBOXES = "GET /v8/RestoreSessions/{restoreSessionId}/organization/mailboxes"
FOLDERS = "GET /v8/RestoreSessions/{restoreSessionId}/organization/mailboxes/{mailboxId}/folders"


def start(actor: Any, organization: Any, workload: str = "exchange", **overrides: Any) -> RestoreSession:
    call = {name: overrides.pop(name) for name in ("client", "client_address") if name in overrides}
    spec = StartSpec(organization=organization, workload=workload, reason="INC-9 find a lost mail", **overrides)
    return session_start.restore_session_start(actor=actor, key=str(uuid.uuid4()), spec=spec, **call)


def first_mailbox(actor: Any, session: RestoreSession) -> browse.BrowseEntry:
    return browse.browse_children(actor=actor, session=session).results[0]


def opens(session: RestoreSession) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=AuditAction.BROWSE_OPEN, session_upstream_id=str(session.upstream_id)))


def test_a_second_visit_is_served_from_the_cache(operator, backed_up_org, sim):
    session = start(operator, backed_up_org)
    mailbox = first_mailbox(operator, session)
    browse.browse_children(actor=operator, session=session, node_id=mailbox.id)
    before = (sim.request_count(MAILBOXES), sim.request_count(FOLDERS))
    again = browse.browse_children(actor=operator, session=session)
    folders = browse.browse_children(actor=operator, session=session, node_id=mailbox.id)
    assert (sim.request_count(MAILBOXES), sim.request_count(FOLDERS)) == before
    assert again.results[0].name == mailbox.name and folders.results


def test_paging_follows_the_cursor_to_the_end_and_back(operator, backed_up_org):
    session = start(operator, backed_up_org)
    mailbox = first_mailbox(operator, session)
    inbox = next(entry for entry in browse.browse_children(actor=operator, session=session, node_id=mailbox.id).results
                 if entry.details.get("category") == "Inbox")
    seen: list[str] = []
    cursor: str | None = ""
    pages = 0
    while cursor is not None:
        page = browse.browse_children(actor=operator, session=session, node_id=inbox.id, cursor=cursor, limit=500)
        seen += [entry.id for entry in page.results]
        cursor, pages = page.next_cursor, pages + 1
    assert len(set(seen)) == len(seen) == 1500 and pages == 3
    assert page.previous_cursor is not None
    back = browse.browse_children(actor=operator, session=session, node_id=inbox.id, cursor=page.previous_cursor,
                                  limit=500)
    assert [entry.id for entry in back.results] == seen[500:1000]


def test_opening_a_mailbox_is_audited_once_per_person(operator, admin_user, backed_up_org):
    session = start(operator, backed_up_org)
    mailbox = first_mailbox(operator, session)
    folders = browse.browse_children(actor=operator, session=session, node_id=mailbox.id).results
    browse.browse_children(actor=operator, session=session, node_id=mailbox.id)
    browse.browse_children(actor=operator, session=session, node_id=folders[0].id)
    assert [(event.actor_username, event.details["name"]) for event in opens(session)] == [("olivia", mailbox.name)]
    browse.browse_children(actor=admin_user, session=session, node_id=mailbox.id)
    assert sorted(event.actor_username for event in opens(session)) == ["olivia", "root"]


def test_listing_the_top_level_opens_nothing(operator, backed_up_org):
    session = start(operator, backed_up_org)
    first_mailbox(operator, session)
    assert opens(session) == []


def test_stopping_the_session_drops_its_pages(operator, backed_up_org, sim):
    session = start(operator, backed_up_org)
    first_mailbox(operator, session)
    restore_sessions.restore_session_stop(actor=operator, session=session)
    with pytest.raises(exceptions.SessionStopped):
        first_mailbox(operator, session)
    # Even a record still saying "working" gets nothing from the cache: VB365 is asked, and the contents are gone.
    session.state = SessionState.WORKING
    with pytest.raises(errors.UpstreamNotFound):
        first_mailbox(operator, session)


def test_a_node_id_of_another_session_is_not_found(operator, backed_up_org):
    one, other = start(operator, backed_up_org), start(operator, backed_up_org)
    mailbox = first_mailbox(operator, one)
    with pytest.raises(exceptions.NotVisible):
        browse.browse_children(actor=operator, session=other, node_id=mailbox.id)


@pytest.mark.parametrize("node_id", ["garbage", "eyJzIjoiMSJ9:forged:signature"])
def test_forged_and_malformed_node_ids_are_not_found(operator, backed_up_org, node_id):
    session = start(operator, backed_up_org)
    with pytest.raises(exceptions.NotVisible):
        browse.browse_children(actor=operator, session=session, node_id=node_id)


def test_auditors_may_not_browse(operator, auditor, backed_up_org):
    session = start(operator, backed_up_org)
    with pytest.raises(exceptions.NotAllowed):
        browse.browse_session_for(actor=auditor, upstream_id=str(session.upstream_id))


def test_helpdesk_browses_only_the_sessions_they_act_in(operator, helpdesk, backed_up_org):
    theirs = start(operator, backed_up_org)
    own = start(helpdesk, backed_up_org, on_behalf_of=operator, ticket="INC-1")
    with pytest.raises(exceptions.NotAllowed):
        browse.browse_session_for(actor=helpdesk, upstream_id=str(theirs.upstream_id))
    assert browse.browse_session_for(actor=helpdesk, upstream_id=str(own.upstream_id)) == own


def test_search_needs_text(operator, backed_up_org):
    session = start(operator, backed_up_org)
    mailbox = first_mailbox(operator, session)
    with pytest.raises(exceptions.PortalError, match="text to search"):
        browse.browse_search(actor=operator, session=session, node_id=mailbox.id, query="  ")


def test_a_page_asks_whether_a_session_it_shows_may_be_browsed_without_a_query(
        operator, auditor, backed_up_org, django_assert_num_queries):
    session = start(operator, backed_up_org)
    # The role is read once per person (cached on the user), as on any page before the explorer is drawn.
    assert selectors.user_role(operator) and selectors.user_role(auditor)
    with django_assert_num_queries(0):
        allowed = (browse.browse_allowed(actor=operator, session=session),
                   browse.browse_allowed(actor=auditor, session=session))
    assert allowed == (True, False)
