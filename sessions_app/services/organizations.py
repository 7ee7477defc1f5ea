"""Keeping the local copy of VB365's organizations fresh."""
from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from sessions_app import exceptions, selectors
from sessions_app.models import Organization
from sessions_app.upstream import client as upstream
from sessions_app.upstream.types import OrganizationDTO, RestorePointDTO

logger = logging.getLogger(__name__)

# The organization list changes rarely; pages reuse the local copy for this long.
FRESH_FOR = timedelta(seconds=60)


def organization_for_viewer(*, actor: AbstractBaseUser | AnonymousUser, upstream_id: str | uuid.UUID
                            ) -> Organization:
    """The organization if the actor may see it. Raises NotVisible otherwise (answered as 404), whose
    refusal says whether the organization exists, for the audit trail."""
    organization = selectors.organization_get(user=actor, upstream_id=upstream_id)
    if organization is not None:
        return organization
    try:
        hidden = Organization.objects.filter(upstream_id=uuid.UUID(str(upstream_id))).first()
    except ValueError:
        hidden = None
    refusal = exceptions.Refusal(target=str(upstream_id), organization=hidden,
                                 why="organization outside the user's grants" if hidden else "no such organization")
    raise exceptions.NotVisible("No such organization.", refusal=refusal)


def organization_upsert(*, dto: OrganizationDTO) -> Organization:
    organization, _ = Organization.objects.update_or_create(
        upstream_id=dto.id,
        defaults={
            "name": dto.name,
            "is_backed_up": dto.is_backed_up,
            "first_backup": dto.first_backup,
            "last_backup": dto.last_backup,
            "raw": dto.raw,
            "fetched_at": timezone.now(),
        },
    )
    return organization


def organizations_refresh(*, client: upstream.UpstreamClient | None = None, force: bool = False) -> list[Organization]:
    """Fetch every organization from VB365 unless the local copy is fresh; return the local rows.

    Raises UpstreamError when VB365 cannot answer; callers may still show the cached rows.
    """
    newest = Organization.objects.order_by("-fetched_at").values_list("fetched_at", flat=True).first()
    if not force and newest is not None and timezone.now() - newest < FRESH_FOR:
        return list(Organization.objects.all())
    client = client or upstream.get_client()
    if client.as_tenant:
        # A tenant token sees only its own organization (Reference: CONTRACT.md §4.2).
        return [organization_refresh_own(client=client)]
    dtos = client.list_organizations()
    with transaction.atomic():
        rows = [organization_upsert(dto=dto) for dto in dtos]
    return rows


def organization_refresh_own(*, client: upstream.UpstreamClient) -> Organization:
    """A tenant's own organization (`GET /vN/Organization`), stored locally."""
    return organization_upsert(dto=client.get_own_organization())


def organization_restore_points(*, organization: Organization,
                                client: upstream.UpstreamClient | None = None,
                                limit: int = 500) -> list[RestorePointDTO]:
    """The organization's restore points, newest first (v6+; empty for older API versions). Who may list
    them, and when VB365 lists none, is services.session_start.restore_points_of's to say."""
    client = client or upstream.get_client()
    return client.list_restore_points(organization_id=str(organization.upstream_id), limit=limit)
