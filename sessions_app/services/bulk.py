"""Fast inserts for the history sync: a million rows should cost the database, not Python.

On PostgreSQL, rows are streamed with COPY into a temporary table and moved with one
`INSERT ... ON CONFLICT DO NOTHING`; elsewhere Django's bulk_create does the same job more slowly.
"""
from __future__ import annotations

from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb


def insert_ignoring_conflicts(model: type[models.Model], rows: list[dict[str, Any]], *, unique_field: str) -> None:
    """Insert `rows` (attname → value; unset fields take the model's defaults), skipping rows whose
    `unique_field` value already exists (a concurrent writer inserted it first)."""
    if not rows:
        return
    fields = [field for field in model._meta.concrete_fields
              if not field.primary_key and not getattr(field, "generated", False)]
    now = timezone.now()
    defaults = {field.attname: field.get_default() for field in fields}
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            defaults[field.attname] = now
    complete = [{**defaults, **row} for row in rows]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create([model(**row) for row in complete], ignore_conflicts=True, batch_size=500)
        return
    _copy_insert(model, fields, complete, unique_field=unique_field)


def _copy_insert(model: type[models.Model], fields: list[Any], rows: list[dict[str, Any]], *,
                 unique_field: str) -> None:
    """COPY straight into the table (the common case: nothing conflicts); if something does, COPY into a
    temporary table instead and move the rows with ON CONFLICT DO NOTHING."""
    table = model._meta.db_table
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    json_fields = {field.attname for field in fields if isinstance(field, models.JSONField)}
    values = [[Jsonb(row[field.attname]) if field.attname in json_fields else row[field.attname] for field in fields]
              for row in rows]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            _copy(cursor, table, columns, values)
        return
    except IntegrityError:
        pass
    unique = model._meta.get_field(unique_field)
    assert isinstance(unique, models.Field) and unique.column, f"{unique_field} is not a column"
    unique_column = connection.ops.quote_name(unique.column)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE bulk_staging ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA")
        _copy(cursor, "bulk_staging", columns, values)
        cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM bulk_staging "
                       f"ON CONFLICT ({unique_column}) DO NOTHING")


def _copy(cursor: Any, table: str, columns: str, values: list[list[Any]]) -> None:
    # COPY goes through the driver's own cursor, past Django's error translation: put it back, so that a
    # duplicate key is django.db.IntegrityError like everywhere else.
    with connection.wrap_database_errors, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in values:
            copy.write_row(row)
