"""Which restore jobs a person may see, and the lists built on that rule.

- everyone: the jobs they asked for, and those asked for on their behalf;
- helpdesk, auditors and administrators: every job;
- tenant users: their own organization's jobs only (never the provider's others);
- operators: their own (and on their behalf) only.
A job outside this is answered as 404, as sessions are, so ids cannot be probed.
"""
from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, QuerySet

from restores.models import RestoreJob
from sessions_app import exceptions, selectors
from sessions_app.models import Role

NO_SUCH_JOB = "No such job."


def jobs_visible_to(user: Any) -> QuerySet[RestoreJob]:
    """Every job `user` may see, newest first, with what lists show."""
    jobs = RestoreJob.objects.select_related("session", "organization", "requested_by", "on_behalf_of")
    role = selectors.user_role(user)
    if role is None:
        return jobs.none()
    if role in selectors.SEE_EVERYTHING:
        return jobs
    own = Q(requested_by_id=user.pk) | Q(on_behalf_of_id=user.pk)
    if role == Role.TENANT:
        organization_id = selectors._tenant_organization_id(user)
        return jobs.filter(own, organization_id=organization_id) if organization_id is not None else jobs.none()
    return jobs.filter(own)


def job_for(user: Any, public_id: str | uuid.UUID) -> RestoreJob:
    """The job with this public id if `user` may see it; NotVisible (404) otherwise, a malformed id included."""
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        raise exceptions.NotVisible(NO_SUCH_JOB, refusal=exceptions.Refusal(
            operation="job.view", target=str(public_id)[:100], why="no such job")) from None
    job = jobs_visible_to(user).filter(public_id=key).first()
    if job is None:
        hidden = RestoreJob.objects.filter(public_id=key).select_related("organization", "session").first()
        refusal = exceptions.Refusal(operation="job.view", target=str(key), why="no such job")
        if hidden is not None:
            refusal = exceptions.Refusal(operation="job.view", target=str(key), organization=hidden.organization,
                                         workload=hidden.workload,
                                         session_upstream_id=str(hidden.session.upstream_id),
                                         why="job outside the user's visibility")
        raise exceptions.NotVisible(NO_SUCH_JOB, refusal=refusal)
    return job


def job_list(*, user: Any, state: str | None = None, action: str | None = None, person: str | None = None,
             organization: str | uuid.UUID | None = None, session: str | uuid.UUID | None = None,
             mine: bool = False) -> QuerySet[RestoreJob]:
    """The jobs `user` may see, filtered: `person` is a user name (who asked, or for whom), `organization` and
    `session` upstream ids (a malformed one matches nothing), `mine` only the user's own (and on their behalf)."""
    jobs = jobs_visible_to(user)
    if mine:
        jobs = jobs.filter(Q(requested_by_id=user.pk) | Q(on_behalf_of_id=user.pk))
    if state:
        jobs = jobs.filter(state=state)
    if action:
        jobs = jobs.filter(action=action)
    if person:
        jobs = jobs.filter(Q(requested_by__username=person) | Q(on_behalf_of__username=person))
    for field_name, value in (("organization__upstream_id", organization), ("session__upstream_id", session)):
        if value:
            try:
                jobs = jobs.filter(**{field_name: uuid.UUID(str(value))})
            except ValueError:
                return jobs.none()
    return jobs


def jobs_of_session(*, user: Any, session: Any) -> QuerySet[RestoreJob]:
    """The jobs of one session that `user` may see (the session page's list)."""
    return jobs_visible_to(user).filter(session=session)
