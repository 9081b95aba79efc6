"""PostgreSQL: write a new run, its ping and the monitor's new state in one statement.

Data-modifying CTEs run as one atomic statement in autocommit, so an acknowledged ping
costs two round trips in all (this and the SELECT before it) with no BEGIN or COMMIT.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Field
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
    "manual",
    "closed_reason",
)


def write_ping_in_one_statement(
    *, monitor_id: int, revision: int, changes: dict[str, Any], run: Run, ping_row: dict[str, Any]
) -> bool:
    """False when the monitor's revision moved since it was read (nothing is written then)."""
    set_clause = ", ".join(f'"{column}" = %s' for column in changes)
    monitor_values = [Jsonb(value) if isinstance(value, dict | list) else value for value in changes.values()]
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
    params = [*monitor_values, monitor_id, revision, *run_values, *(ping_row[c] for c in ping_columns)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


@dataclass(frozen=True)
class MonitorLookup:
    """How a ping URL names its monitor: hand-written SQL for the plain read, ORM filters for the lock."""

    where: str
    params: tuple[Any, ...]
    filters: dict[str, Any]


def by_uuid(ping_uuid: uuid.UUID) -> MonitorLookup:
    return MonitorLookup('m."ping_uuid" = %s', (ping_uuid,), {"ping_uuid": ping_uuid})


def by_slug(ping_key: str, slug: str) -> MonitorLookup:
    return MonitorLookup(
        'm."project_id" = (SELECT p."id" FROM monitors_project p WHERE p."ping_key" = %s) AND m."slug" = %s',
        (ping_key, slug),
        {"project__ping_key": ping_key, "slug": slug},
    )


def by_id(monitor_id: int) -> MonitorLookup:
    return MonitorLookup('m."id" = %s', (monitor_id,), {"id": monitor_id})


@functools.cache
def _compiled_select(where: str, field_names: tuple[str, ...]) -> tuple[str, list[Field[Any, Any]]]:
    """The SELECT for one lookup shape and column set, built once per process: the ORM would
    compile the same SELECT on every ping, which costs more than running it."""
    # Model.from_db expects the values in the model's field order.
    wanted = {Monitor._meta.get_field(name).attname for name in field_names}  # type: ignore[union-attr]
    fields = [field for field in Monitor._meta.concrete_fields if field.attname in wanted]
    columns = ", ".join(f'm."{field.column}"' for field in fields)
    return f"SELECT {columns} FROM monitors_monitor m WHERE {where} LIMIT 1", fields


def fetch_monitor(lookup: MonitorLookup, field_names: tuple[str, ...]) -> Monitor | None:
    """The monitor `lookup` names with only `field_names` loaded, in one precompiled SELECT.

    Every lookup is on a unique key, so LIMIT 1 needs no ORDER BY.
    """
    sql, fields = _compiled_select(lookup.where, field_names)
    with connection.cursor() as cursor:
        cursor.execute(sql, list(lookup.params))
        row = cursor.fetchone()
    if row is None:
        return None
    values = [
        field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
        for field, value in zip(fields, row, strict=True)
    ]
    return Monitor.from_db(connection.alias, [field.attname for field in fields], values)
