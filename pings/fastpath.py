"""PostgreSQL: a ping read in one statement and written in one revision-guarded statement.

The read brings the monitor row and its oldest open runs together; the write updates the
monitor (only if its revision is still the one read), writes the run (a new one, or the open
one the finish closes), counts the ping against the rate limit and inserts the ping, as one
data-modifying CTE in autocommit. The read is skipped while the process's copy of the monitor
is valid (pings.monitor_cache): an acknowledged ping costs one round trip, or two, with no
BEGIN or COMMIT, and the monitor's row lock
is held only while PostgreSQL runs that one statement, never across Python code: a hot
monitor is limited by its commits, not by its clients' threads.
"""

from __future__ import annotations

import enum
import functools
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models.base import ModelState
from psycopg.types.json import Jsonb

from monitors.models import Monitor
from pings.models import Run
from pings.rate_limit import RateWindow

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
# What a finish writes into the open run it closes.
CLOSING_COLUMNS = ("status", "finished_at", "duration_ms", "exit_code", "meta", "log", "log_truncated")


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


class _LoggedCursor(CursorDebugWrapper):
    """Logs a statement as written: running a prepared statement leaves psycopg no query
    text for Django's log to read back."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        with self.debug_sql(sql, params):
            return CursorWrapper.execute(self, sql, params)


def _prepared_cursor() -> CursorWrapper:
    """A cursor that sends its parameters apart from the statement (server-side binding).

    The connection prepares every statement such a cursor runs (`prepare_threshold` 0,
    monitorsite.settings): a ping's read and write are parsed and planned once per connection
    and statement shape, then only executed. Django's own cursors bind on the client, so each
    of their statements is parsed and planned anew: for the ping's statements that was most of
    PostgreSQL's work. Wrapped like Django's cursors: database errors are Django's, and the
    statements are logged where Django logs queries.
    """
    database = connections[DEFAULT_DB_ALIAS]
    database.ensure_connection()
    with database.wrap_database_errors:
        cursor = psycopg.Cursor(database.connection)
    if database.queries_logged:
        return _LoggedCursor(cursor, database)
    return CursorWrapper(cursor, database)


# --- the read --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenRunRow:
    id: int
    started_at: datetime
    rid: uuid.UUID | None
    meta: dict[str, Any]


@dataclass(frozen=True)
class _CompiledSelect:
    sql: str
    # The loaded columns' attribute names, in the model's field order.
    attnames: tuple[str, ...]
    # Per column: the field's from_db_value, or None when the driver's value is the field's.
    converters: tuple[Any, ...]


@functools.cache
def _compiled_select(where: str, field_names: tuple[str, ...]) -> _CompiledSelect:
    """The SELECT for one lookup shape and column set, built once per process: the ORM would
    compile the same SELECT on every ping, which costs more than running it."""
    # Model.from_db expects the values in the model's field order.
    wanted = {Monitor._meta.get_field(name).attname for name in field_names}  # type: ignore[union-attr]
    fields = [field for field in Monitor._meta.concrete_fields if field.attname in wanted]
    columns = ", ".join(f'm."{field.column}"' for field in fields)
    # The oldest open runs ride along (only when the row says there are some), as JSON.
    open_runs = """
        CASE WHEN m."open_runs" > 0 THEN (
            SELECT json_agg(json_build_array(r."id", r."started_at", r."rid", r."meta")
                            ORDER BY r."started_at", r."id")
            FROM (
                SELECT "id", "started_at", "rid", "meta" FROM pings_run
                WHERE "monitor_id" = m."id" AND "status" = 'running'
                ORDER BY "started_at", "id" LIMIT %s
            ) r
        ) END"""
    return _CompiledSelect(
        sql=f"SELECT {columns}, {open_runs} FROM monitors_monitor m WHERE {where} LIMIT 1",
        attnames=tuple(field.attname for field in fields),
        converters=tuple(getattr(field, "from_db_value", None) for field in fields),
    )


def _loaded_monitor(attnames: tuple[str, ...], values: list[Any]) -> Monitor:
    """What `Monitor.from_db` makes of a partial row (the other fields deferred), without
    `Model.__init__`: its pre_init and post_init signals (nothing listens for a Monitor's)
    and per-field work cost more than the rest of the read."""
    monitor = Monitor.__new__(Monitor)
    monitor.__dict__.update(zip(attnames, values, strict=True))
    monitor._state = ModelState()
    monitor._state.adding = False
    monitor._state.db = connection.alias
    return monitor


def lock_monitor(lookup: MonitorLookup) -> None:
    """Lock the row until the transaction ends.

    A statement of its own: a `SELECT … FOR UPDATE` that waits for the lock returns the row as
    it is now but reads everything else (the open runs) as it was when it started.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM monitors_monitor m WHERE {lookup.where} FOR UPDATE", list(lookup.params)
        )


def fetch_monitor(
    lookup: MonitorLookup, field_names: tuple[str, ...], *, open_runs_limit: int
) -> tuple[Monitor, list[OpenRunRow]] | None:
    """The monitor `lookup` names with only `field_names` loaded, and up to `open_runs_limit` of
    its open runs (oldest first), in one precompiled SELECT: one snapshot of both.

    Every lookup is on a unique key, so LIMIT 1 needs no ORDER BY.
    """
    select = _compiled_select(lookup.where, field_names)
    with _prepared_cursor() as cursor:
        cursor.execute(select.sql, [open_runs_limit, *lookup.params])
        row = cursor.fetchone()
    if row is None:
        return None
    *columns, runs = row
    values = [
        value if convert is None else convert(value, None, connection)
        for convert, value in zip(select.converters, columns, strict=True)
    ]
    monitor = _loaded_monitor(select.attnames, values)
    open_rows = [
        OpenRunRow(
            id=run_id,
            started_at=datetime.fromisoformat(started_at),
            rid=uuid.UUID(rid) if rid else None,
            meta=meta or {},
        )
        for run_id, started_at, rid, meta in runs or []
    ]
    return monitor, open_rows


# --- the write -------------------------------------------------------------------------------


def _value(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, dict | list) else value


class WriteOutcome(enum.Enum):
    WRITTEN = "written"
    # The monitor's rate limit for this minute is spent: nothing stored, the refusal counted.
    REFUSED = "refused"
    # The monitor's revision moved since it was read (or the monitor is gone): nothing written.
    CONTENDED = "contended"


@dataclass(frozen=True)
class Written:
    outcome: WriteOutcome
    # The id of the run the ping opened or closed, when it did.
    run_id: int | None = None


def _rate_sql(rate: RateWindow) -> tuple[str, str, list[Any], list[Any]]:
    """The counting assignment and the room-left condition of the claiming UPDATE, with params."""
    if not rate.enabled:
        return "", "", [], []
    assignment = (
        ', "rate_window" = %s, '
        '"rate_count" = CASE WHEN m."rate_window" = %s THEN m."rate_count" + 1 ELSE 1 END'
    )
    condition = ' AND (m."rate_window" IS DISTINCT FROM %s OR m."rate_count" < %s)'
    return assignment, condition, [rate.start, rate.start], [rate.start, rate.limit]


def write_ping_in_one_statement(
    *,
    lookup: MonitorLookup,
    monitor_id: int,
    revision: int,
    changes: dict[str, Any],
    run: Run | None,
    ping_row: dict[str, Any],
    rate: RateWindow,
) -> Written:
    """Count the ping against the rate limit, and unless it is spent store it and the monitor's
    changes, all in one statement guarded by the revision read (and by `lookup`, so a ping key
    rotated since then no longer reaches the monitor).

    `run`: a new run (no pk) to insert, an open run (with pk) the ping closes, or None for a
    ping that belongs to no new run (a retried start).
    """
    rate_assignment, rate_condition, rate_set, rate_where = _rate_sql(rate)
    assignments = ['"revision" = m."revision" + 1', *(f'"{column}" = %s' for column in changes)]
    params: list[Any] = [
        *(_value(value) for value in changes.values()),
        *rate_set,
        monitor_id,
        revision,
        *lookup.params,
        *rate_where,
    ]
    ping_columns = [column for column in ping_row if column != "monitor_id"]
    ping_values = ", ".join(["%s"] * len(ping_columns))
    # Exclusive with `claimed` (one spends the last room, the other finds none): one statement
    # never updates the row twice.
    refused = ""
    if rate.enabled:
        refused = """,
        refused AS (
            UPDATE monitors_monitor SET "pings_refused" = "pings_refused" + 1
            WHERE "id" = %s AND "rate_window" = %s AND "rate_count" >= %s
            RETURNING "id"
        )"""
        params += [monitor_id, rate.start, rate.limit]
    claimed = f"""
        claimed AS (
            UPDATE monitors_monitor m SET {", ".join(assignments)}{rate_assignment}
            WHERE m."id" = %s AND m."revision" = %s AND {lookup.where}{rate_condition}
            RETURNING m."id"
        ){refused}"""
    if run is None:
        written = f"""
            stored AS (
                INSERT INTO pings_ping ("monitor_id", "run_id", {", ".join(f'"{c}"' for c in ping_columns)})
                SELECT claimed."id", NULL, {ping_values} FROM claimed
                RETURNING "id", "run_id"
            )"""
    elif run.pk is None:
        written = f"""
            new_run AS (
                INSERT INTO pings_run ("monitor_id", {", ".join(f'"{c}"' for c in RUN_COLUMNS)})
                SELECT claimed."id", {", ".join(["%s"] * len(RUN_COLUMNS))} FROM claimed
                RETURNING "id", "monitor_id"
            ),
            stored AS (
                INSERT INTO pings_ping ("monitor_id", "run_id", {", ".join(f'"{c}"' for c in ping_columns)})
                SELECT new_run."monitor_id", new_run."id", {ping_values} FROM new_run
                RETURNING "id", "run_id"
            )"""
        params += [_value(getattr(run, column)) for column in RUN_COLUMNS]
    else:
        # The revision covers the run: whatever closes or opens a run bumps it.
        written = f"""
            closed AS (
                UPDATE pings_run SET {", ".join(f'"{c}" = %s' for c in CLOSING_COLUMNS)}
                FROM claimed WHERE pings_run."id" = %s AND pings_run."monitor_id" = claimed."id"
                RETURNING pings_run."id", pings_run."monitor_id"
            ),
            stored AS (
                INSERT INTO pings_ping ("monitor_id", "run_id", {", ".join(f'"{c}"' for c in ping_columns)})
                SELECT closed."monitor_id", closed."id", {ping_values} FROM closed
                RETURNING "id", "run_id"
            )"""
        params += [*(_value(getattr(run, column)) for column in CLOSING_COLUMNS), run.pk]
    params += [ping_row[column] for column in ping_columns]
    refused_flag = "EXISTS (SELECT 1 FROM refused)" if rate.enabled else "false"
    sql = f"""
        WITH {claimed}, {written}
        SELECT (SELECT "id" FROM stored), (SELECT "run_id" FROM stored), {refused_flag}
    """
    with _prepared_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    ping_id, run_id, was_refused = row if row is not None else (None, None, False)
    if ping_id is not None:
        return Written(WriteOutcome.WRITTEN, run_id)
    return Written(WriteOutcome.REFUSED if was_refused else WriteOutcome.CONTENDED)
