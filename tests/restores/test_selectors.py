"""Who sees which jobs: their own and those for them; helpdesk, auditors and administrators all; tenants only
their organization's; everyone else nothing. Outside that a job is 404."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from restores import selectors
from restores.models import JobState, RestoreJob
from sessions_app import exceptions
from sessions_app.models import Organization, RestoreSession, Role, UserProfile
from tests.conftest import make_user


def a_job(session: RestoreSession, requested_by: Any, *, on_behalf_of: Any = None, **fields: Any) -> RestoreJob:
    """A job row as job_create leaves it (the selectors read rows; job_create is tested on its own)."""
    return RestoreJob.objects.create(session=session, organization=session.organization, requested_by=requested_by,
                                     on_behalf_of=on_behalf_of, reason="INC-3", action="exchange.export_pst",
                                     workload=session.workload, api_version=8, **fields)


@pytest.fixture
def tenant_user(job_org: Organization) -> Any:
    user = make_user("tenant:megan@contoso", Role.OPERATOR)
    UserProfile.objects.update_or_create(user=user, defaults={"tenant_organization": job_org})
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def cast(working_session: Any, job_operator: Any, helpdesk: Any, auditor: Any, job_org: Organization,
         other_org: Organization) -> dict[str, Any]:
    session = working_session(8)
    other_session = RestoreSession.objects.create(
        upstream_id=uuid.uuid4(), organization=other_org, workload="exchange", creation_time=session.creation_time,
        fetched_at=session.fetched_at, api_version=8)
    colleague = make_user("otto", Role.OPERATOR, grants=[(job_org, "")])
    return {
        "own": a_job(session, job_operator),
        "for_ophelia": a_job(session, helpdesk, on_behalf_of=job_operator, ticket="INC-5"),
        "colleagues": a_job(session, colleague),
        "other_org": a_job(other_session, helpdesk, state=JobState.SUCCEEDED),
        "colleague": colleague,
    }


def test_operators_see_their_own_and_those_for_them(cast: dict[str, Any], job_operator: Any) -> None:
    visible = set(selectors.jobs_visible_to(job_operator))
    assert visible == {cast["own"], cast["for_ophelia"]}


@pytest.mark.parametrize("role", ["helpdesk", "auditor", "admin_user"])
def test_helpdesk_auditors_and_admins_see_every_job(role: str, cast: dict[str, Any], request: Any) -> None:
    user = request.getfixturevalue(role)
    assert selectors.jobs_visible_to(user).count() == 4


def test_tenants_see_only_their_organizations_jobs(cast: dict[str, Any], tenant_user: Any, job_org: Organization,
                                                  job_operator: Any) -> None:
    in_tenant_org = a_job(cast["own"].session, tenant_user)
    elsewhere = a_job(cast["other_org"].session, tenant_user)
    assert set(selectors.jobs_visible_to(tenant_user)) == {in_tenant_org}
    with pytest.raises(exceptions.NotVisible):
        selectors.job_for(tenant_user, elsewhere.public_id)
    with pytest.raises(exceptions.NotVisible):
        selectors.job_for(tenant_user, cast["own"].public_id)


def test_people_without_a_role_see_nothing(cast: dict[str, Any], nobody: Any) -> None:
    assert not selectors.jobs_visible_to(nobody).exists()


@pytest.mark.parametrize("public_id", ["another's", "random", "not-a-uuid"])
def test_a_job_outside_ones_sight_is_not_found(public_id: str, cast: dict[str, Any], job_operator: Any) -> None:
    value = {"another's": str(cast["colleagues"].public_id), "random": str(uuid.uuid4()),
             "not-a-uuid": "not-a-uuid"}[public_id]
    with pytest.raises(exceptions.NotVisible) as excinfo:
        selectors.job_for(job_operator, value)
    assert excinfo.value.http_status == 404 and excinfo.value.message == selectors.NO_SUCH_JOB
    assert selectors.job_for(job_operator, cast["own"].public_id) == cast["own"]


def test_job_list_filters(cast: dict[str, Any], helpdesk: Any, other_org: Organization) -> None:
    assert list(selectors.job_list(user=helpdesk, state=JobState.SUCCEEDED)) == [cast["other_org"]]
    assert set(selectors.job_list(user=helpdesk, person="ophelia")) == {cast["own"], cast["for_ophelia"]}
    assert list(selectors.job_list(user=helpdesk, organization=other_org.upstream_id)) == [cast["other_org"]]
    assert selectors.job_list(user=helpdesk, session=cast["own"].session.upstream_id).count() == 3
    assert not selectors.job_list(user=helpdesk, session="garbage").exists()
    assert set(selectors.job_list(user=helpdesk, mine=True)) == {cast["for_ophelia"], cast["other_org"]}
    assert selectors.job_list(user=helpdesk, action="exchange.save_msg").count() == 0


def test_listing_jobs_takes_one_query(cast: dict[str, Any], helpdesk: Any) -> None:
    with CaptureQueriesContext(connection) as queries:
        rows = [(job.session.upstream_id, job.requested_by.username, job.organization)
                for job in selectors.jobs_visible_to(helpdesk)]
    assert len(rows) == 4
    assert len(queries) <= 2  # the role (groups), then the jobs with their session and people
