"""Restore-job fixtures: a working session on a chosen API version, its node ids, the people, the worker.

Use them in any tests/restores/ file:
- `job_org` (the simulator's organization with tenant credentials: restores with a password work in it),
  `m365_password` (RestoreCredentials VB365 accepts for it), `job_operator` (ophelia: may restore all of it),
  `helpdesk` and `auditor` (tests/conftest.py);
- `working_session(version=8, workload="exchange", user=None)` -> a RestoreSession started through the service
  (the portal then speaks `version`);
- `nodes(session, user)` -> a NodeFinder: `.containers()`, `.children(entry)`, `.small_folder()`, `.items(n)`
  (browse entries whose `.id` job_create takes);
- `run_jobs()` runs every queued task in this process, as a worker does (tests/background's `drain`);
- `job_files` points STORAGES["restores"] at this test's own folder; `smtp_server` (a real SMTP server,
  tests/background) receives the mails.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from restores.models import RestoreJob
from restores.services import jobs
from sessions_app.models import Organization, RestoreSession, Role
from sessions_app.services import browse, session_start
from sessions_app.specs import StartSpec
from sessions_app.upstream.restore_types import RestoreCredentials
from tests.background.conftest import drain, smtp_port, smtp_server, start_smtp  # noqa: F401  (fixtures)
from tests.conftest import SimControl, make_user


@pytest.fixture
def job_org(tenant_organization: Organization) -> Organization:
    return tenant_organization


@pytest.fixture
def m365_password(tenant_credentials: dict[str, str]) -> RestoreCredentials:
    return RestoreCredentials(user_name=tenant_credentials["username"], password=tenant_credentials["password"])


@pytest.fixture
def job_operator(job_org: Organization) -> Any:
    """ophelia: may restore everything of job_org."""
    return make_user("ophelia", Role.OPERATOR, grants=[(job_org, "")])


@pytest.fixture
def working_session(upstream: Callable[[int], SimControl], job_org: Organization,
                    job_operator: Any) -> Callable[..., RestoreSession]:
    def start(version: int = 8, workload: str = "exchange", user: Any = None, **extra: Any) -> RestoreSession:
        upstream(version)
        spec = StartSpec(organization=job_org, workload=workload, reason="INC-16: restore what was deleted", **extra)
        return session_start.restore_session_start(actor=user or job_operator, key=str(uuid.uuid4()), spec=spec)

    return start


class NodeFinder:
    """Walks a session's contents through the browse service, as the explorer does."""

    def __init__(self, session: RestoreSession, user: Any) -> None:
        self.session = session
        self.user = user

    def children(self, entry: browse.BrowseEntry | None = None, limit: int = 200) -> list[browse.BrowseEntry]:
        return browse.browse_children(actor=self.user, session=self.session, node_id=entry.id if entry else "",
                                      limit=limit).results

    def containers(self) -> list[browse.BrowseEntry]:
        return self.children()

    def first(self, kind: str, under: browse.BrowseEntry | None = None) -> browse.BrowseEntry:
        return next(entry for entry in self.children(under) if entry.kind == kind)

    def folder_with_items(self, *, at_least: int = 1, at_most: int = 60,
                          container: browse.BrowseEntry | None = None) -> tuple[browse.BrowseEntry,
                                                                                list[browse.BrowseEntry]]:
        """A folder (or the container itself; breadth-first from the first container) holding between at_least
        and at_most direct leaf entries (items, documents, posts, files)."""
        pending = [container or self.containers()[0]]
        while pending:
            folder = pending.pop(0)
            entries = self.children(folder)
            leaves = [each for each in entries if each.kind in ("item", "document", "post", "file")]
            if at_least <= len(leaves) <= at_most:
                return folder, leaves
            pending.extend(each for each in entries if each.has_children and each.kind in ("folder", "library"))
        raise AssertionError("no folder of that size")


@pytest.fixture
def nodes() -> Callable[[RestoreSession, Any], NodeFinder]:
    return NodeFinder


@pytest.fixture
def run_jobs() -> Callable[[], int]:
    """Run every ready task in this process (a worker's loop, until the queue is empty); returns how many ran."""
    return drain


@pytest.fixture
def job_files(settings: Any, tmp_path: Any) -> Any:
    from restores.storage_settings import restore_storage_entry

    settings.STORAGES = {**settings.STORAGES, "restores": restore_storage_entry(files_root=tmp_path / "restores")}
    return tmp_path / "restores"


def job_spec(action: str, node_ids: list[str] | tuple[str, ...], **overrides: Any) -> jobs.JobSpec:
    values: dict[str, Any] = {"action": action, "node_ids": tuple(node_ids), "reason": "INC-16: user deleted it"}
    values.update(overrides)
    return jobs.JobSpec(**values)


def job_reloaded(job: RestoreJob) -> RestoreJob:
    return RestoreJob.objects.get(pk=job.pk)
