"""Who sees what: the visibility matrix of every selector for every role, each list filter, and query-count guards."""
from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from sessions_app import selectors
from sessions_app.models import AuditAction, AuditOutcome, Organization, RestoreSession, Role
from sessions_app.services.audit import audit_event_record
from sessions_app.specs import SessionQuery
from tests.conftest import make_user

_counter = itertools.count(1)


def search(user: Any, **query: Any) -> Any:
    """The sessions `user` finds with a SessionQuery of these fields."""
    return selectors.restore_session_list(user=user, query=SessionQuery(**query))


def make_session(organization: Organization | None, **overrides: Any) -> RestoreSession:
    n = next(_counter)
    fields: dict[str, Any] = {
        "upstream_id": uuid.uuid4(), "organization": organization,
        "organization_name": organization.name if organization else "", "workload": "exchange",
        "state": "stopped", "result": "success", "fetched_at": timezone.now(), "api_version": 8,
        "creation_time": datetime(2026, 6, 1, tzinfo=dt_timezone.utc) - timedelta(hours=n), "reason": f"r{n}",
    }
    fields.update(overrides)
    return RestoreSession.objects.create(**fields)


@pytest.fixture
def sessions(backed_up_org, other_org):
    """One session per (organization, workload) that matters to the cast."""
    return {
        "mine_exchange": make_session(backed_up_org, workload="exchange"),
        "mine_teams": make_session(backed_up_org, workload="teams"),
        "other_exchange": make_session(other_org, workload="exchange"),
        "other_onedrive": make_session(other_org, workload="onedrive"),
        "orphan": make_session(None, organization_name="gone.onmicrosoft.com"),
    }


@pytest.fixture
def inactive(backed_up_org):
    user = make_user("ivan", Role.OPERATOR, grants=[(backed_up_org, "")])
    user.is_active = False
    user.save()
    return user


ALL = {"mine_exchange", "mine_teams", "other_exchange", "other_onedrive", "orphan"}
MATRIX = [
    ("operator", {"mine_exchange", "mine_teams"}),
    ("exchange_operator", {"other_exchange"}),
    ("helpdesk", ALL),
    ("auditor", ALL),
    ("admin_user", ALL),
    ("nobody", set()),
    ("inactive", set()),
    ("anonymous", set()),
]


def cast(request, who):
    return AnonymousUser() if who == "anonymous" else request.getfixturevalue(who)


@pytest.mark.parametrize(("who", "visible"), MATRIX)
def test_session_visibility(request, sessions, who, visible):
    user = cast(request, who)
    listed = set(selectors.restore_session_list(user=user))
    assert listed == {sessions[name] for name in visible}
    for name, session in sessions.items():
        assert (selectors.restore_session_get(user=user, upstream_id=session.upstream_id) is not None) is (
            name in visible)
        assert (selectors.restore_session_get(user=user, upstream_id=str(session.upstream_id)) is not None) is (
            name in visible)


@pytest.mark.parametrize(("who", "visible"), MATRIX)
def test_guessed_and_malformed_session_ids_find_nothing(request, sessions, who, visible):
    user = cast(request, who)
    for bad in (uuid.uuid4(), "not-a-uuid", "", "1' OR '1'='1", str(sessions["mine_exchange"].pk)):
        assert selectors.restore_session_get(user=user, upstream_id=bad) is None


ORGS = [
    ("operator", {"backed_up"}),
    ("exchange_operator", {"other"}),
    ("helpdesk", "all"),
    ("auditor", "all"),
    ("admin_user", "all"),
    ("nobody", set()),
    ("inactive", set()),
    ("anonymous", set()),
]


@pytest.mark.parametrize(("who", "visible"), ORGS)
def test_organization_visibility(request, backed_up_org, other_org, who, visible):
    user = cast(request, who)
    names = {"backed_up": backed_up_org, "other": other_org}
    expected = set(Organization.objects.all()) if visible == "all" else {names[n] for n in visible}
    assert set(selectors.organization_list(user=user)) == expected
    for organization in Organization.objects.all():
        found = selectors.organization_get(user=user, upstream_id=organization.upstream_id)
        assert (found is not None) is (organization in expected)
        assert selectors.organization_visible(user=user, organization=organization) is (organization in expected)
    assert selectors.organization_get(user=user, upstream_id=uuid.uuid4()) is None
    assert selectors.organization_get(user=user, upstream_id="nonsense") is None


def test_operator_with_two_grants_on_one_organization_sees_it_once(backed_up_org):
    user = make_user("twice", Role.OPERATOR, grants=[(backed_up_org, "exchange"), (backed_up_org, "teams")])
    assert list(selectors.organization_list(user=user)) == [backed_up_org]


@pytest.mark.parametrize(("who", "on", "allowed"), [
    ("operator", "backed_up", None),
    ("operator", "other", set()),
    ("exchange_operator", "other", {"exchange"}),
    ("exchange_operator", "backed_up", set()),
    ("helpdesk", "other", None),
    ("admin_user", "other", None),
])
def test_workloads_allowed(request, backed_up_org, other_org, who, on, allowed):
    organization = backed_up_org if on == "backed_up" else other_org
    assert selectors.workloads_allowed(user=request.getfixturevalue(who), organization=organization) == allowed


@pytest.mark.parametrize(("who", "role", "start", "on_behalf", "audit", "review"), [
    ("operator", Role.OPERATOR, True, False, False, False),
    ("exchange_operator", Role.OPERATOR, True, False, False, False),
    ("helpdesk", Role.HELPDESK, True, True, False, True),
    ("auditor", Role.AUDITOR, False, False, True, True),
    ("admin_user", Role.ADMIN, True, True, True, True),
    ("nobody", None, False, False, False, False),
    ("inactive", None, False, False, False, False),
    ("anonymous", None, False, False, False, False),
])
def test_role_and_capabilities(request, who, role, start, on_behalf, audit, review):
    user = cast(request, who)
    assert selectors.user_role(user) == role
    assert selectors.can_start(user) is start
    assert selectors.can_act_on_behalf(user) is on_behalf
    assert selectors.can_view_audit(user) is audit
    assert selectors.can_review_all(user) is review


@pytest.mark.parametrize(("who", "may_stop"), [
    ("operator", {"mine_exchange", "mine_teams"}),
    ("exchange_operator", {"other_exchange"}),
    ("helpdesk", ALL),
    ("admin_user", ALL),
    ("auditor", set()),
    ("nobody", set()),
    ("inactive", set()),
    ("anonymous", set()),
])
def test_can_stop(request, sessions, who, may_stop):
    user = cast(request, who)
    assert {name for name, session in sessions.items() if selectors.can_stop(user, session)} == may_stop


def test_superuser_is_admin_whatever_the_groups(db):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("su", password="x")
    assert selectors.user_role(root) == Role.ADMIN


@pytest.fixture
def varied(backed_up_org, other_org, operator, helpdesk):
    return {
        "teams": make_session(backed_up_org, workload="teams"),
        "working": make_session(backed_up_org, state="working", result=""),
        "failed": make_session(backed_up_org, result="failed"),
        "by_olivia": make_session(backed_up_org, requested_by=operator, origin="portal"),
        "console": make_session(backed_up_org, initiated_by="CONTOSO\\Console-Admin"),
        "other_org": make_session(other_org),
        "reason": make_session(backed_up_org, reason="Payroll sheet gone"),
        "scope": make_session(backed_up_org, scope="mailbox of ceo"),
        "ticket": make_session(backed_up_org, ticket="INC-4711"),
        "upstream_reason": make_session(backed_up_org, upstream_reason="script cleanup"),
        "scope_name": make_session(backed_up_org, scope_name="site Finance"),
        "early": make_session(backed_up_org, creation_time=datetime(2025, 1, 1, tzinfo=dt_timezone.utc)),
        "late": make_session(backed_up_org, creation_time=datetime(2027, 1, 1, tzinfo=dt_timezone.utc)),
    }


@pytest.mark.parametrize(("filters", "expected"), [
    ({"workload": "teams"}, {"teams"}),
    ({"state": "working"}, {"working"}),
    ({"result": "failed"}, {"failed"}),
    ({"requested_by": "olivia"}, {"by_olivia"}),
    ({"requested_by": "OLI"}, {"by_olivia"}),
    ({"requested_by": "livi"}, {"by_olivia"}),
    ({"result": "success", "state": "working"}, set()),
    ({"origin": "portal"}, {"by_olivia"}),
    ({"initiated_by": "console-admin"}, {"console"}),
    ({"search": "payroll"}, {"reason"}),
    ({"search": "CEO"}, {"scope"}),
    ({"search": "4711"}, {"ticket"}),
    ({"search": "cleanup"}, {"upstream_reason"}),
    ({"search": "finance"}, {"scope_name"}),
    ({"started_before": datetime(2025, 6, 1, tzinfo=dt_timezone.utc)}, {"early"}),
    ({"started_after": datetime(2026, 12, 1, tzinfo=dt_timezone.utc)}, {"late"}),
    ({"workload": "teams", "state": "working"}, set()),
])
def test_each_session_filter(helpdesk, varied, filters, expected):
    assert set(search(helpdesk, **filters)) == {varied[name] for name in expected}


def test_organization_filter_narrows_to_it_and_an_unknown_one_to_nothing(helpdesk, varied, other_org):
    assert list(search(helpdesk, organization=other_org)) == [varied["other_org"]]
    assert not search(helpdesk, organization_unknown=True).exists()


def test_filters_never_widen_visibility(operator, varied, other_org):
    assert not search(operator, organization=other_org).exists()


def test_start_time_bounds_are_inclusive_then_exclusive(helpdesk, backed_up_org):
    moment = datetime(2026, 3, 1, tzinfo=dt_timezone.utc)
    at = make_session(backed_up_org, creation_time=moment)
    assert list(search(helpdesk, started_after=moment)) == [at]
    assert not search(helpdesk, started_before=moment).filter(pk=at.pk).exists()


@pytest.mark.parametrize(("ordering", "first"), [
    ("newest", "late"), ("oldest", "early"), ("", "late"), ("bogus", "late"),
])
def test_ordering(helpdesk, varied, ordering, first):
    assert search(helpdesk, ordering=ordering).first() == varied[first]


def test_ordering_by_requester_is_not_offered(helpdesk, varied):
    # Sorting a million sessions by a joined name cannot use an index; the requester filter remains.
    assert "requester" not in selectors.SESSION_ORDERINGS
    newest = list(search(helpdesk, ordering="requester"))
    assert newest == list(selectors.restore_session_list(user=helpdesk))

def test_listing_sessions_with_organization_and_requester_is_constant_in_queries(
        operator, helpdesk, backed_up_org, django_assert_max_num_queries):
    for _ in range(50):
        make_session(backed_up_org, requested_by=operator, on_behalf_of=helpdesk)
    fresh_operator = type(operator).objects.get(pk=operator.pk)
    # Role (groups, profile), the grants, then one query for the sessions with their relations.
    with django_assert_max_num_queries(4):
        rows = [(str(s.organization), str(s.requested_by), str(s.on_behalf_of))
                for s in selectors.restore_session_list(user=fresh_operator)]
    assert len(rows) == 50


def test_audit_list_is_one_query(db, django_assert_max_num_queries):
    for n in range(50):
        audit_event_record(action=AuditAction.EXPORT, actor_username=f"user{n}")
    with django_assert_max_num_queries(1):
        rows = [(e.actor_username, e.get_action_display(), e.organization_name) for e in selectors.audit_event_list()]
    assert len(rows) == 50


@pytest.mark.parametrize(("filters", "expected"), [
    ({"actor": "olivia"}, ["olivia-start"]),
    ({"action": "session_stop"}, ["oscar-stop"]),
    ({"outcome": "failure"}, ["oscar-stop"]),
    ({"workload": "teams"}, ["oscar-stop"]),
    ({"search": "INVOICES"}, ["olivia-start"]),
    ({"search": "inc-55"}, ["oscar-stop"]),
    ({}, ["oscar-stop", "olivia-start"]),
])
def test_audit_filters(backed_up_org, filters, expected):
    audit_event_record(action=AuditAction.SESSION_START, actor_username="olivia", organization=backed_up_org,
                       workload="exchange", reason="invoices", details={"tag": "olivia-start"})
    audit_event_record(action=AuditAction.SESSION_STOP, actor_username="oscar", outcome=AuditOutcome.FAILURE,
                       workload="teams",
                       ticket="INC-55", details={"tag": "oscar-stop"})
    events = selectors.audit_event_list(**filters).filter(action__in=["session_start", "session_stop"])
    assert [e.details["tag"] for e in events] == expected


def test_audit_organization_and_date_filters(backed_up_org):
    event = audit_event_record(action=AuditAction.SESSION_START, organization=backed_up_org)
    assert list(selectors.audit_event_list(organization=str(backed_up_org.upstream_id))) == [event]
    assert event in selectors.audit_event_list(created_after=event.created_at)
    assert event not in selectors.audit_event_list(created_before=event.created_at)


def test_working_sessions_of_are_the_users_own_or_on_their_behalf(operator, helpdesk, backed_up_org):
    own = make_session(backed_up_org, state="working", result="", requested_by=operator)
    for_me = make_session(backed_up_org, state="working", result="", requested_by=helpdesk, on_behalf_of=operator)
    make_session(backed_up_org, state="stopped", requested_by=operator)
    make_session(backed_up_org, state="working", result="", requested_by=helpdesk)
    assert set(selectors.working_sessions_of(user=operator)) == {own, for_me}


def test_working_sessions_of_drop_sessions_after_a_grant_is_revoked(operator, backed_up_org):
    from sessions_app.models import AccessGrant

    make_session(backed_up_org, state="working", result="", requested_by=operator)
    AccessGrant.objects.filter(user=operator).delete()
    fresh = type(operator).objects.get(pk=operator.pk)
    assert not selectors.working_sessions_of(user=fresh).exists()


def test_deep_pages_are_the_same_rows_as_plain_slicing(helpdesk, varied, monkeypatch):
    sessions = search(helpdesk, ordering="organization")
    expected = list(sessions[3:8])
    monkeypatch.setattr(selectors, "DEFERRED_JOIN_OFFSET", 0)
    rows = selectors.page_rows(sessions, offset=3, limit=5)
    assert [row.pk for row in rows] == [row.pk for row in expected]
    assert rows[0].organization is not None or rows[0].organization_id is None


@pytest.fixture
def tenant(backed_up_org):
    """A tenant user of backed_up_org, bound as tenant sign-in binds one."""
    from django.contrib.auth import get_user_model

    from sessions_app.models import UserProfile

    user = get_user_model().objects.create_user("tenant:restore@contoso.example")
    UserProfile.objects.create(user=user, tenant_organization=backed_up_org)
    return type(user).objects.get(pk=user.pk)


def test_a_tenant_tells_its_own_sessions_from_the_providers_in_constant_queries(
        tenant, helpdesk, backed_up_org, monkeypatch, django_assert_max_num_queries):
    for _ in range(20):
        make_session(backed_up_org, requested_by=helpdesk, ticket="INC-7")
        make_session(backed_up_org, requested_by=tenant)
    make_session(backed_up_org, initiated_by="CONTOSO\\console-admin", origin="upstream")
    monkeypatch.setattr(selectors, "DEFERRED_JOIN_OFFSET", 0)

    # The role (profile), then the page's ids and its rows with their relations.
    with django_assert_max_num_queries(3):
        sessions = selectors.restore_session_list(user=tenant)
        owners = [s.started_by_tenant for s in selectors.page_rows(sessions, offset=0, limit=41)]

    assert owners.count(True) == 20 and owners.count(False) == 21


@pytest.mark.parametrize("filters", [{"requested_by": "harry"}, {"search": "INC-7"},
                                     {"initiated_by": "console-admin"}])
def test_a_tenants_filters_on_provider_fields_match_only_its_own_sessions(tenant, helpdesk, backed_up_org, filters):
    make_session(backed_up_org, requested_by=helpdesk, ticket="INC-7", initiated_by="CONTOSO\\console-admin")
    mine = make_session(backed_up_org, requested_by=tenant, reason="INC-7 my own note",
                        initiated_by="restore@contoso.example console-admin")

    found = list(search(tenant, **filters))

    assert found == ([] if "requested_by" in filters else [mine])
    assert search(helpdesk, **filters).exists()


def test_a_tenant_may_stop_only_its_own_users_sessions(tenant, helpdesk, backed_up_org):
    providers = make_session(backed_up_org, state="working", requested_by=helpdesk)
    from_console = make_session(backed_up_org, state="working", origin="upstream")
    own = make_session(backed_up_org, state="working", requested_by=tenant)

    assert [selectors.can_stop(tenant, s) for s in (providers, from_console, own)] == [False, False, True]
    assert selectors.sees_provider_fields(tenant) is False and selectors.sees_provider_fields(helpdesk) is True


def test_a_result_filter_leaves_out_working_sessions_whatever_they_stored(helpdesk, backed_up_org):
    """Rows written before the mapping fix (or by an old sync) may hold VB365's "Success" while working."""
    stopped = make_session(backed_up_org, result="success")
    make_session(backed_up_org, state="working", result="success")
    assert list(search(helpdesk, result="success")) == [stopped]


def test_ordering_by_state_puts_working_sessions_first(helpdesk, varied):
    ordered = list(search(helpdesk, ordering="state"))
    assert ordered[0] == varied["working"]
    rest = ordered[1:]
    assert all(session.state == "stopped" for session in rest)
    assert [s.creation_time for s in rest] == sorted((s.creation_time for s in rest), reverse=True)


def test_activity_by_result_counts_working_sessions_as_working(backed_up_org):
    day = timezone.now()
    make_session(backed_up_org, creation_time=day, state="working", result="success")
    make_session(backed_up_org, creation_time=day, state="working", result="")
    make_session(backed_up_org, creation_time=day, result="success")
    rows = selectors.session_activity(since=day - timedelta(days=1), field="result")
    assert {value: count for _, value, count in rows} == {"working": 2, "success": 1}


def test_events_come_oldest_or_newest_first(backed_up_org):
    session = make_session(backed_up_org)
    for order in (0, 2, 1):
        session.events.create(upstream_id=uuid.uuid4(), order=order, title=f"event {order}", fetched_at=timezone.now())
    assert [e.order for e in selectors.restore_session_events(session=session)] == [0, 1, 2]
    assert [e.order for e in selectors.restore_session_events(session=session, newest_first=True)] == [2, 1, 0]


@pytest.fixture
def other_tenant(other_org):
    from django.contrib.auth import get_user_model

    from sessions_app.models import UserProfile

    user = get_user_model().objects.create_user("tenant:restore@fabrikam.example")
    UserProfile.objects.create(user=user, tenant_organization=other_org)
    return user


def test_on_behalf_candidates_are_people_who_start_sessions_themselves(
        helpdesk, operator, exchange_operator, auditor, admin_user, nobody, tenant, other_tenant, backed_up_org):
    from django.contrib.auth.models import Group

    also_auditor = make_user("otto", Role.OPERATOR, grants=[(backed_up_org, "")])
    also_auditor.groups.add(Group.objects.get(name=Role.AUDITOR.value))  # the stronger role decides
    gone = make_user("gone", Role.OPERATOR, grants=[(backed_up_org, "")])
    gone.is_active = False
    gone.save()

    anywhere = selectors.on_behalf_candidates(user=helpdesk)
    here = selectors.on_behalf_candidates(user=helpdesk, organization=backed_up_org)
    by_admin = selectors.on_behalf_candidates(user=admin_user, organization=backed_up_org)
    assert anywhere is not None and here is not None and by_admin is not None

    assert [u.username for u in anywhere] == ["olivia", "oscar", "tenant:restore@contoso.example",
                                              "tenant:restore@fabrikam.example"]
    assert [u.username for u in here] == ["olivia", "tenant:restore@contoso.example"]
    assert [u.username for u in by_admin] == [
        "olivia", "tenant:restore@contoso.example"]


@pytest.mark.parametrize("who", ["operator", "auditor", "tenant", "nobody"])
def test_roles_that_may_not_act_on_behalf_have_no_candidates(request, backed_up_org, who):
    assert selectors.on_behalf_candidates(user=request.getfixturevalue(who), organization=backed_up_org) is None


def test_on_behalf_allowed_never_for_oneself(helpdesk, operator, backed_up_org, other_org):
    assert selectors.on_behalf_allowed(user=helpdesk, organization=backed_up_org, person=operator)
    assert not selectors.on_behalf_allowed(user=helpdesk, organization=backed_up_org, person=helpdesk)
    assert not selectors.on_behalf_allowed(user=helpdesk, organization=other_org, person=operator)
    assert not selectors.on_behalf_allowed(user=operator, organization=backed_up_org, person=operator)


@pytest.mark.parametrize(("requested", "latest", "no_data"), [
    (timedelta(days=-3), False, True),
    (timedelta(days=3), False, False),
    (None, True, False),
], ids=["before-first-backup", "after-first-backup", "latest"])
def test_a_session_before_the_first_backup_holds_no_data(backed_up_org, requested, latest, no_data):
    moment = backed_up_org.first_backup + requested if requested is not None else None
    session = make_session(backed_up_org, requested_point_in_time=moment, requested_latest=latest,
                           upstream_point_in_time=moment)
    assert selectors.restore_session_holds_no_data(session=session) is no_data


def test_a_session_of_an_unknown_organization_is_not_called_empty(db):
    session = make_session(None, requested_point_in_time=datetime(2001, 1, 1, tzinfo=dt_timezone.utc))
    assert selectors.restore_session_holds_no_data(session=session) is False


def test_the_role_rule_of_stopping_asks_nothing_of_the_database(tenant, helpdesk, operator, auditor, backed_up_org,
                                                                django_assert_num_queries):
    providers = make_session(backed_up_org, state="working", requested_by=helpdesk)
    own = make_session(backed_up_org, state="working", requested_by=tenant)
    own = RestoreSession.objects.select_related("requested_by__profile").get(pk=own.pk)
    people = (tenant, helpdesk, operator, auditor)
    for person in people:
        selectors.user_role(person)

    with django_assert_num_queries(0):
        rules = [(selectors.may_stop_visible(person, providers), selectors.may_stop_visible(person, own))
                 for person in people]

    assert rules == [(False, True), (True, True), (True, True), (False, False)]
