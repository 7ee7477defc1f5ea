"""The sync's bulk insert: new rows go in, rows another writer inserted first are left as they are."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import pytest
from django.utils import timezone as django_timezone

from sessions_app.models import RestoreSession, SessionOrigin
from sessions_app.services import bulk


def session_row(upstream_id: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"upstream_id": upstream_id, "workload": "exchange", "state": "working",
                           "creation_time": datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc),
                           "fetched_at": django_timezone.now(), "api_version": 8, "raw": {"id": str(upstream_id)}}
    row.update(overrides)
    return row


@pytest.mark.django_db
def test_new_rows_are_inserted_with_the_models_defaults():
    ids = [uuid.uuid4() for _ in range(3)]
    bulk.insert_ignoring_conflicts(RestoreSession, [session_row(i) for i in ids], unique_field="upstream_id")
    stored = RestoreSession.objects.filter(upstream_id__in=ids)
    assert stored.count() == 3
    assert {s.origin for s in stored} == {SessionOrigin.UPSTREAM}
    assert all(s.raw == {"id": str(s.upstream_id)} and s.created_at for s in stored)


@pytest.mark.django_db(transaction=True)
def test_a_row_another_writer_inserted_first_is_kept_and_the_rest_go_in():
    # As when a start records its session while a sync's page of sessions is being written.
    taken = uuid.uuid4()
    RestoreSession.objects.create(**session_row(taken), origin=SessionOrigin.PORTAL, reason="restore j.doe")
    new = uuid.uuid4()

    bulk.insert_ignoring_conflicts(RestoreSession, [session_row(taken), session_row(new)], unique_field="upstream_id")

    kept = RestoreSession.objects.get(upstream_id=taken)
    assert (kept.origin, kept.reason) == (SessionOrigin.PORTAL, "restore j.doe")
    assert RestoreSession.objects.filter(upstream_id=new).exists()
    assert RestoreSession.objects.count() == 2
