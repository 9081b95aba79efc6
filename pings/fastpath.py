"""PostgreSQL: write a new run, its ping and the monitor's new state in one statement.

Data-modifying CTEs run as one atomic statement in autocommit, so an acknowledged ping
costs two round trips in all (this and the SELECT before it) with no BEGIN or COMMIT.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from psycopg.types.json import Jsonb

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
