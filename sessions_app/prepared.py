"""Lookups by one unique value, and inserts of one row, whose SQL is compiled once per database connection.

Turning a queryset into SQL (joins, column lists, converters, the instances' field lists) costs about 1 ms of
CPU for the lookups below, several times what the database spends answering them; an INSERT of a model with
thirty columns is not much cheaper to compile. Every API request makes the same ones (its token, the session
its URL names; a start's request, session and audit events), each time the same statement with other values.

A `PreparedLookup` compiles its queryset once per connection with a sample value, remembers where that value
sits among the statement's parameters, and from then on only swaps the value in and builds the instances the
way Django's own ModelIterable does, select_related objects and annotations included. A `PreparedInsert`
compiles Django's own INSERT (with its ON CONFLICT clause, for an upsert) once and then only computes each
column's value as Django does (pre_save, get_db_prep_save); a `PreparedUpdate` does the same for the UPDATE
of save(update_fields=…). All three run their statements through Django's cursor, so query logging, execute
wrappers and transactions see them as any other.
"""
from __future__ import annotations

import threading
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model, QuerySet
from django.db.models.constants import OnConflict
from django.db.models.query import ModelIterable, get_related_populators
from django.db.models.sql import InsertQuery

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    positions: tuple[int, ...]
    model: type[Model]
    init_list: list[str]
    fields_start: int
    fields_end: int
    related_populators: list[Any]
    annotations: tuple[tuple[str, int], ...]
    converters: dict[int, Any]
    field: Field[Any, Any]


class PreparedLookup(Generic[M]):
    """`queryset.filter(<field>=value)`, at most one row (the field is unique or "pk"), compiled once per
    connection.

    `queryset` is any plain queryset of model instances (select_related and annotations allowed; no
    prefetch_related, values() or only()); it is never evaluated itself.
    """

    def __init__(self, queryset: Callable[[], QuerySet[M]], field: str, *, using: str = "default") -> None:
        self._queryset = queryset
        self._field = field
        self._using = using
        self._compiled: weakref.WeakKeyDictionary[BaseDatabaseWrapper, _Compiled] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self, value: Any) -> M | None:
        connection = connections[self._using]
        compiled = self._compiled.get(connection)
        if compiled is None:
            compiled = self._compile(connection)
            with self._lock:
                self._compiled[connection] = compiled
        params = list(compiled.params)
        prepared = compiled.field.get_db_prep_value(value, connection, prepared=False)
        for position in compiled.positions:
            params[position] = prepared
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        if compiled.converters:
            row = list(row)
            for position, (converters, expression) in compiled.converters.items():
                for converter in converters:
                    row[position] = converter(row[position], expression, connection)
        instance = compiled.model.from_db(self._using, compiled.init_list,
                                          row[compiled.fields_start:compiled.fields_end])
        for populator in compiled.related_populators:
            populator.populate(row, instance)
        for name, position in compiled.annotations:
            setattr(instance, name, row[position])
        return instance  # type: ignore[return-value]

    def _compile(self, connection: BaseDatabaseWrapper) -> _Compiled:
        base = self._queryset()
        deferred = base.query.deferred_loading[0]
        if base._iterable_class is not ModelIterable or getattr(base, "_prefetch_related_lookups", False) or deferred:
            raise TypeError("PreparedLookup takes a plain queryset of instances (no values(), only() or prefetch).")
        meta = base.model._meta
        field: Field[Any, Any] = meta.pk if self._field == "pk" else meta.get_field(self._field)  # type: ignore[assignment]
        sample = _sample(field)
        queryset = base.filter(**{self._field: sample}).order_by()[:1]
        compiler = queryset.query.get_compiler(using=self._using, connection=connection)
        sql, params = compiler.as_sql()
        prepared_sample = field.get_db_prep_value(sample, connection, prepared=False)
        positions = tuple(i for i, param in enumerate(params) if param == prepared_sample)
        if not positions:
            raise TypeError(f"The sample value of {self._field!r} is not among the statement's parameters.")
        select, klass_info, annotation_col_map = compiler.select, compiler.klass_info, compiler.annotation_col_map
        select_fields = klass_info["select_fields"]
        start, end = select_fields[0], select_fields[-1] + 1
        fields = [column[0] for column in select[:compiler.col_count]]
        return _Compiled(
            sql=sql, params=tuple(params), positions=positions, model=klass_info["model"],
            init_list=[column[0].target.attname for column in select[start:end]],
            fields_start=start, fields_end=end,
            # Django 5.2's signature; django-stubs already describe Django 6's (which adds fetch_mode).
            related_populators=get_related_populators(klass_info, select, self._using),  # type: ignore[call-arg]
            annotations=tuple(annotation_col_map.items()),
            converters=compiler.get_converters(fields), field=field,
        )



def _sample(field: Field[Any, Any]) -> Any:
    """A value no constant of the statement can equal, so that its position among the parameters is known."""
    if field.get_internal_type() == "UUIDField":
        return uuid.uuid4()
    if field.get_internal_type() in {"CharField", "TextField", "SlugField"}:
        return f"prepared-lookup-sample-{uuid.uuid4().hex}"
    # Integers: within every integer column's range (Django answers a value out of range with no query at all).
    return 1_000_000_000 + uuid.uuid4().int % 1_000_000_000


@dataclass(frozen=True)
class _CompiledInsert:
    sql: str
    returning: list[Field[Any, Any]]
    converters: dict[int, Any]


class PreparedInsert(Generic[M]):
    """INSERT of one new instance of `model` (every concrete column but an automatic primary key), as
    `instance.save(force_insert=True)` does, or, given `unique_fields`, an upsert as
    `bulk_create([instance], update_conflicts=True, unique_fields=…, update_fields=…)` does. Sets the
    instance's primary key (the existing row's, after an upsert) and marks it saved. Sends no save signals.
    One statement per connection and set of `update_fields`."""

    def __init__(self, model: type[M], *, unique_fields: tuple[str, ...] = (), using: str = "default") -> None:
        meta = model._meta
        self._model = model
        self._fields = [field for field in meta.local_concrete_fields
                        if field is not meta.auto_field and not field.generated]
        self._unique_fields = unique_fields
        self._using = using
        self._compiled: weakref.WeakKeyDictionary[BaseDatabaseWrapper, dict[tuple[str, ...], _CompiledInsert]] = (
            weakref.WeakKeyDictionary())
        self._lock = threading.Lock()

    def insert(self, instance: M, *, update_fields: tuple[str, ...] = ()) -> M:
        connection = connections[self._using]
        if not connection.features.can_return_columns_from_insert:
            return self._insert_unprepared(instance, update_fields)  # SQLite before 3.35
        params = []
        for field in self._fields:
            value = field.pre_save(instance, True)
            if hasattr(value, "resolve_expression"):
                raise TypeError(f"PreparedInsert takes plain values, not an expression for {field.name!r}.")
            params.append(field.get_db_prep_save(value, connection))
        statements = self._compiled.get(connection)
        if statements is None:
            with self._lock:
                statements = self._compiled.setdefault(connection, {})
        compiled = statements.get(update_fields)
        if compiled is None:
            compiled = statements[update_fields] = self._compile(connection, instance, update_fields)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            row = list(cursor.fetchone() or ())
        for position, (converters, expression) in compiled.converters.items():
            for converter in converters:
                row[position] = converter(row[position], expression, connection)
        for field, value in zip(compiled.returning, row, strict=True):
            setattr(instance, field.attname, value)
        instance._state.adding = False
        instance._state.db = self._using
        return instance

    def _insert_unprepared(self, instance: M, update_fields: tuple[str, ...]) -> M:
        """Django's own INSERT, where the database cannot return the new row's key with it."""
        if self._unique_fields:
            self._model._default_manager.using(self._using).bulk_create(
                [instance], update_conflicts=True, unique_fields=list(self._unique_fields),
                update_fields=list(update_fields))
        else:
            instance.save(force_insert=True, using=self._using)
        return instance

    def _compile(self, connection: BaseDatabaseWrapper, instance: M, update_fields: tuple[str, ...]
                 ) -> _CompiledInsert:
        meta = self._model._meta
        query = InsertQuery(
            self._model, on_conflict=OnConflict.UPDATE if self._unique_fields else None,
            update_fields=[meta.get_field(name) for name in update_fields],
            unique_fields=[meta.get_field(name) for name in self._unique_fields])
        # raw: the statement is compiled from the values already computed, without calling pre_save again
        # (it would move an auto_now column after its parameter was taken).
        query.insert_values(self._fields, [instance], raw=True)
        compiler = query.get_compiler(using=self._using, connection=connection)
        returning = list(meta.db_returning_fields)
        compiler.returning_fields = returning
        [(sql, params)] = compiler.as_sql()
        if len(params) != len(self._fields):
            raise TypeError(f"The INSERT of {meta.label} takes other parameters than one per column.")
        converters = compiler.get_converters([field.get_col(meta.db_table) for field in returning])
        return _CompiledInsert(sql=sql, returning=returning, converters=converters)


class PreparedUpdate(Generic[M]):
    """`instance.save(update_fields=fields)` of a stored row, its UPDATE written once per database vendor and
    fields: the columns get what save would write (pre_save refreshes auto_now columns). Raises DatabaseError
    when no row has the instance's primary key, as save does. Sends no save signals."""

    def __init__(self, model: type[M], *, using: str = "default") -> None:
        self._model = model
        self._using = using
        self._sql: dict[tuple[str, tuple[str, ...]], str] = {}  # by vendor (only the quoting differs) and fields

    def save(self, instance: M, update_fields: tuple[str, ...]) -> None:
        connection = connections[self._using]
        meta = self._model._meta
        fields: list[Field[Any, Any]] = [meta.get_field(name) for name in update_fields]  # type: ignore[misc]
        params = []
        for field in fields:
            value = field.pre_save(instance, False)
            if hasattr(value, "resolve_expression") or hasattr(field, "get_placeholder"):
                raise TypeError(f"PreparedUpdate takes plain values of plain fields, not {field.name!r}.")
            params.append(field.get_db_prep_save(value, connection))
        params.append(meta.pk.get_db_prep_value(instance.pk, connection))
        sql = self._sql.get((connection.vendor, update_fields))
        if sql is None:
            quote = connection.ops.quote_name
            columns = ", ".join(f"{quote(str(field.column))} = %s" for field in fields)
            sql = self._sql[(connection.vendor, update_fields)] = (
                f"UPDATE {quote(meta.db_table)} SET {columns} WHERE {quote(str(meta.pk.column))} = %s")
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            if not cursor.rowcount:
                raise DatabaseError("Save with update_fields did not affect any rows.")
