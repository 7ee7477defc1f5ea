"""Tests run as the portal's runtime database role, as production does (PostgreSQL with
TEST_DATABASE_RUNTIME_ROLE; see `make test-postgres`).

TEST_DATABASE_URL names the owner role: it creates and migrates the test database (after which the portal's
post_migrate handler grants the runtime role its privileges). Then every connection, live_server threads'
included, logs in as the runtime role. What a DBA does, not the portal, still runs as the owner: the flush
that transactional tests end with, and the tampering that tests play as an attacker (`database_owner`).
Elsewhere (SQLite, or no runtime role) nothing changes and `database_owner` is the default connection.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper

OWNER_ALIAS = "database_owner"
_owner_login: dict[str, Any] = {}


def runs_as_runtime_role() -> bool:
    return bool(_owner_login)


@contextmanager
def database_owner() -> Iterator[BaseDatabaseWrapper]:
    """A connection with the owner's rights, in autocommit. With a runtime role it is a login of its own,
    known to the ORM as OWNER_ALIAS while open, that sees only committed rows: use it in transactional tests."""
    if not _owner_login:
        yield connection
        return
    from django.db.backends.postgresql.base import DatabaseWrapper

    owner = DatabaseWrapper({**connection.settings_dict, **_owner_login}, alias=OWNER_ALIAS)
    connections[OWNER_ALIAS] = owner
    try:
        yield owner
    finally:
        owner.close()
        del connections[OWNER_ALIAS]


def _flush_as_owner(self: Any, sql_list: Iterable[str]) -> None:
    with database_owner() as owner, owner.cursor() as cursor:
        for sql in sql_list:
            cursor.execute(sql)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """pytest-django's set-up, as the owner; then the runtime role for everything else."""
    role = settings.DATABASE_RUNTIME_ROLE
    if connection.vendor != "postgresql" or not role:
        yield
        return
    from django.db.backends.postgresql.operations import DatabaseOperations

    settings_dict = connection.settings_dict  # shared by every connection, in every thread
    with django_db_blocker.unblock():
        connections.close_all()
    _owner_login.update(USER=settings_dict["USER"], PASSWORD=settings_dict["PASSWORD"])
    settings_dict.update(USER=role, PASSWORD="")
    DatabaseOperations.execute_sql_flush = _flush_as_owner  # type: ignore[method-assign]
    try:
        yield
    finally:
        del DatabaseOperations.execute_sql_flush  # back to the inherited one
        with django_db_blocker.unblock():
            connections.close_all()
        settings_dict.update(_owner_login)
        _owner_login.clear()
