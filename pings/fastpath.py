"""PostgreSQL: write a new run, its ping and the monitor's new state in one statement.

Data-modifying CTEs run as one atomic statement in autocommit, so an acknowledged ping
costs two round trips in all (this and the SELECT before it) with no BEGIN or COMMIT.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connection
from django.db.models import Field, Q
from psycopg.types.json import Jsonb

from monitors.models import Monitor
from pings.models import Run

RUN_COLUMNS = (
    "rid",
    "status",
    "started_at",
    "finished_at",
    "duration_ms",
    "exit_code",
    "meta",
    "log",
    "log_truncated",
    "overlap",
    "overlap_reported",
    "manual",
    "closed_reason",
    "evaluated",
)


def write_ping_in_one_statement(
    *, monitor_id: int, revision: int, changes: dict[str, Any], run: Run, ping_row: dict[str, Any]
) -> bool:
    """False when the monitor's revision moved since it was read (nothing is written then)."""
    set_clause = ", ".join(f'"{column}" = %s' for column in changes)
    run_values = [Jsonb(run.meta) if column == "meta" else getattr(run, column) for column in RUN_COLUMNS]
    ping_columns = [column for column in ping_row if column != "monitor_id"]
    sql = f"""
        WITH claimed AS (
            UPDATE monitors_monitor SET "revision" = "revision" + 1, {set_clause}
            WHERE "id" = %s AND "revision" = %s
            RETURNING "id"
        ), new_run AS (
            INSERT INTO pings_run ("monitor_id", {", ".join(f'"{c}"' for c in RUN_COLUMNS)})
            SELECT claimed."id", {", ".join(["%s"] * len(RUN_COLUMNS))} FROM claimed
            RETURNING "id", "monitor_id"
        )
        INSERT INTO pings_ping ("monitor_id", "run_id", {", ".join(f'"{c}"' for c in ping_columns)})
        SELECT new_run."monitor_id", new_run."id", {", ".join(["%s"] * len(ping_columns))} FROM new_run
        RETURNING "id"
    """
    params = [*changes.values(), monitor_id, revision, *run_values, *(ping_row[c] for c in ping_columns)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


# The monitor lookups the ping URLs use, by the fields they filter on, as hand-written SQL:
# the ORM would compile the same SELECT on every ping, which costs more than running it.
_LOOKUP_WHERE: dict[frozenset[str], tuple[str, tuple[str, ...]]] = {
    frozenset({"ping_uuid"}): ('m."ping_uuid" = %s', ("ping_uuid",)),
    frozenset({"id"}): ('m."id" = %s', ("id",)),
    frozenset({"project__ping_key", "slug"}): (
        'm."project_id" = (SELECT p."id" FROM monitors_project p WHERE p."ping_key" = %s) AND m."slug" = %s',
        ("project__ping_key", "slug"),
    ),
}


def _plain_filters(lookup: Q) -> dict[str, Any] | None:
    """`Q(a=1, b=2)` as {"a": 1, "b": 2}; None for anything more elaborate."""
    if lookup.negated or lookup.connector != Q.AND:
        return None
    filters: dict[str, Any] = {}
    for child in lookup.children:
        if not isinstance(child, tuple):
            return None
        name, value = child
        filters[name] = value
    return filters


@functools.cache
def _compiled_select(where: str, field_names: tuple[str, ...]) -> tuple[str, list[Field[Any, Any]]]:
    """The SELECT for one lookup shape and column set, built once per process."""
    # Model.from_db expects the values in the model's field order.
    wanted = {Monitor._meta.get_field(name).attname for name in field_names}  # type: ignore[union-attr]
    fields = [field for field in Monitor._meta.concrete_fields if field.attname in wanted]
    columns = ", ".join(f'm."{field.column}"' for field in fields)
    return f"SELECT {columns} FROM monitors_monitor m WHERE {where} LIMIT 1", fields


def fetch_monitor(lookup: Q, field_names: tuple[str, ...]) -> Monitor | None:
    """The monitor `lookup` names with only `field_names` loaded, in one precompiled SELECT.

    Every lookup shape in `_LOOKUP_WHERE` is on a unique key, so LIMIT 1 needs no ORDER BY.
    """
    filters = _plain_filters(lookup)
    known = _LOOKUP_WHERE.get(frozenset(filters)) if filters is not None else None
    if filters is None or known is None:
        return Monitor.objects.only(*field_names).filter(lookup).first()
    where, order = known
    sql, fields = _compiled_select(where, field_names)
    with connection.cursor() as cursor:
        cursor.execute(sql, [filters[name] for name in order])
        row = cursor.fetchone()
    if row is None:
        return None
    values = [
        field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
        for field, value in zip(fields, row, strict=True)
    ]
    return Monitor.from_db(connection.alias, [field.attname for field in fields], values)
