"""sessions_app.prepared: lookups and inserts compiled once, against the test database (SQLite or PostgreSQL)."""
from __future__ import annotations

import threading
import uuid
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Upper
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from sessions_app.models import Organization, RestoreSession
from sessions_app.prepared import PreparedInsert, PreparedLookup, PreparedUpdate

pytestmark = pytest.mark.django_db(transaction=True)


def organization(name: str) -> Organization:
    return Organization.objects.create(upstream_id=uuid.uuid4(), name=name, fetched_at=timezone.now(),
                                       raw={"name": name, "tags": ["a", "ü"]})


def session(of: Organization | None, requested_by: User | None = None) -> RestoreSession:
    return RestoreSession.objects.create(
        upstream_id=uuid.uuid4(), organization=of, organization_name=of.name if of else "", workload="exchange",
        state="working", creation_time=datetime(2026, 11, 1, 12, 0, tzinfo=dt_timezone.utc),
        fetched_at=timezone.now(), api_version=8, reason="lost mail", requested_by=requested_by)


SESSIONS = PreparedLookup(lambda: RestoreSession.objects.select_related("organization", "requested_by"),
                          "upstream_id")


def test_a_lookup_reads_the_row_with_its_related_objects_in_one_query_each_time() -> None:
    contoso, fabrikam = organization("Contoso"), organization("Fabrikam")
    olivia = User.objects.create(username="olivia")
    first, second = session(contoso, olivia), session(fabrikam)
    for expected in (first, second, first):
        with CaptureQueriesContext(connection) as queries:
            found = SESSIONS.get(expected.upstream_id)
            assert found is not None
            assert (found.pk, found.reason, found.creation_time) == (expected.pk, "lost mail", expected.creation_time)
            assert found.organization is not None and found.organization.name == expected.organization_name
            assert found.organization.raw["tags"] == ["a", "ü"], "JSON comes back as JSON"
            requested_by = found.requested_by.username if found.requested_by else None
        assert requested_by == ("olivia" if expected is first else None)
        assert len(queries) == 1, "the related objects came with the row"
    assert SESSIONS.get(uuid.uuid4()) is None


def test_a_found_row_is_a_saved_instance_that_saves_as_any_other() -> None:
    stored = session(organization("Contoso"))
    found = SESSIONS.get(stored.upstream_id)
    assert found is not None and not found._state.adding
    found.reason = "changed"
    found.save(update_fields=["reason"])
    assert RestoreSession.objects.get(pk=stored.pk).reason == "changed"


def test_annotations_come_along_and_a_primary_key_is_looked_up_as_pk() -> None:
    users = PreparedLookup(lambda: User.objects.annotate(shout=Upper(F("username")), tag=Value("x")), "pk")
    olivia = User.objects.create(username="olivia")
    found: Any = users.get(olivia.pk)
    assert found is not None and (found.username, found.shout, found.tag) == ("olivia", "OLIVIA", "x")
    assert users.get(str(olivia.pk)) is not None, "the session stores the user id as text"
    assert users.get(olivia.pk + 1000) is None


def test_each_thread_uses_its_own_connection() -> None:
    stored = [session(organization(f"Org {n}")) for n in range(4)]
    found: dict[int, Any] = {}

    def look(n: int) -> None:
        try:
            found[n] = SESSIONS.get(stored[n].upstream_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=look, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [found[n].organization.name for n in range(4)] == [f"Org {n}" for n in range(4)]


def test_querysets_that_do_not_make_plain_instances_are_refused() -> None:
    with pytest.raises(TypeError, match="plain queryset"):
        PreparedLookup(lambda: Organization.objects.only("name"), "upstream_id").get(uuid.uuid4())
    with pytest.raises(TypeError, match="plain queryset"):
        values: Any = lambda: Organization.objects.values("name")  # noqa: E731 - a queryset of dicts, on purpose
        PreparedLookup(values, "upstream_id").get(uuid.uuid4())


def test_an_insert_writes_every_column_sets_the_key_and_auto_now_add() -> None:
    inserts = PreparedInsert(Organization)
    before = timezone.now()
    for name in ("Contoso", "Fabrikam"):
        with CaptureQueriesContext(connection) as queries:
            row = inserts.insert(Organization(upstream_id=uuid.uuid4(), name=name, fetched_at=before,
                                              raw={"n": name}))
        assert len(queries) == 1
        assert row.pk is not None and not row._state.adding
        stored = Organization.objects.get(pk=row.pk)
        assert (stored.name, stored.raw, stored.upstream_id) == (name, {"n": name}, row.upstream_id)
        assert stored.created_at == row.created_at and stored.created_at >= before


def test_an_upsert_updates_the_row_that_collides_and_answers_with_its_key() -> None:
    first = session(organization("Contoso"))
    upserts = PreparedInsert(RestoreSession, unique_fields=("upstream_id",))
    row = upserts.insert(RestoreSession(upstream_id=first.upstream_id, workload="exchange", state="stopped",
                                        reason="synced", creation_time=first.creation_time,
                                        fetched_at=timezone.now(), api_version=8, organization_name="ignored"),
                         update_fields=("state", "reason"))
    assert row.pk == first.pk
    stored = RestoreSession.objects.get(pk=first.pk)
    assert (stored.state, stored.reason, stored.organization_name) == ("stopped", "synced", "Contoso")
    other = upserts.insert(RestoreSession(upstream_id=uuid.uuid4(), workload="exchange", state="working",
                                          creation_time=first.creation_time, fetched_at=timezone.now(),
                                          api_version=8), update_fields=("state", "reason"))
    assert other.pk != first.pk and RestoreSession.objects.count() == 2
    upserts.insert(RestoreSession(upstream_id=first.upstream_id, workload="exchange", state="working",
                                  reason="not written", creation_time=first.creation_time,
                                  fetched_at=timezone.now(), api_version=8), update_fields=("state",))
    stored = RestoreSession.objects.get(pk=first.pk)
    assert (stored.state, stored.reason) == ("working", "synced"), "another set of columns, another statement"


def test_a_duplicate_raises_djangos_integrity_error_and_the_transaction_rolls_back() -> None:
    inserts = PreparedInsert(Organization)
    taken = organization("Contoso")
    with pytest.raises(IntegrityError), transaction.atomic():
        inserts.insert(Organization(upstream_id=uuid.uuid4(), name="Fabrikam", fetched_at=timezone.now()))
        inserts.insert(Organization(upstream_id=taken.upstream_id, name="Again", fetched_at=timezone.now()))
    assert list(Organization.objects.values_list("name", flat=True)) == ["Contoso"]


def test_an_expression_as_a_value_is_refused_before_anything_is_written() -> None:
    with pytest.raises(TypeError, match="expression"):
        PreparedInsert(Organization).insert(Organization(upstream_id=uuid.uuid4(), name=Upper(Value("x")),
                                                         fetched_at=timezone.now()))
    assert not Organization.objects.exists()


def test_an_update_writes_the_fields_named_refreshes_auto_now_and_leaves_the_rest() -> None:
    stored = session(organization("Contoso"))
    fabrikam = organization("Fabrikam")
    before = RestoreSession.objects.get(pk=stored.pk).updated_at
    stored.state, stored.reason, stored.organization = "stopped", "not written", fabrikam
    with CaptureQueriesContext(connection) as queries:
        PreparedUpdate(RestoreSession).save(stored, ("state", "organization", "updated_at"))
    assert len(queries) == 1
    again = RestoreSession.objects.get(pk=stored.pk)
    assert (again.state, again.reason, again.organization_id) == ("stopped", "lost mail", fabrikam.pk)
    assert again.updated_at > before and again.updated_at == stored.updated_at


def test_an_update_of_a_row_that_is_gone_raises_as_save_does() -> None:
    stored = session(organization("Contoso"))
    RestoreSession.objects.filter(pk=stored.pk).delete()
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        PreparedUpdate(RestoreSession).save(stored, ("state",))


@pytest.mark.skipif(connection.vendor != "sqlite", reason="every PostgreSQL returns columns from an INSERT")
def test_without_returning_from_insert_djangos_own_insert_and_upsert_are_used(monkeypatch: Any) -> None:
    # SQLite before 3.35 (Django 5.2 supports 3.31) cannot return the new row's key with the INSERT.
    monkeypatch.setattr(connection.features, "can_return_columns_from_insert", False)
    row = PreparedInsert(Organization).insert(Organization(upstream_id=uuid.uuid4(), name="Contoso",
                                                           fetched_at=timezone.now()))
    assert row.pk is not None and Organization.objects.get(pk=row.pk).name == "Contoso"
    first = session(row)
    PreparedInsert(RestoreSession, unique_fields=("upstream_id",)).insert(
        RestoreSession(upstream_id=first.upstream_id, workload="exchange", state="stopped",
                       creation_time=first.creation_time, fetched_at=timezone.now(), api_version=8),
        update_fields=("state",))
    assert RestoreSession.objects.get(pk=first.pk).state == "stopped"
