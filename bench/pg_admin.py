"""The benchmarks' throwaway PostgreSQL databases: named by the URL they run against."""

from __future__ import annotations

import re
from urllib.parse import urlsplit


def database_name(database_url: str) -> str:
    """The URL's database, which a benchmark drops and re-creates: a plain identifier only."""
    name = urlsplit(database_url).path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"error: the database name must be a plain identifier, got {name!r}")
    return name


def recreate(database_url: str) -> None:
    drop(database_url)
    _admin(database_url, f"CREATE DATABASE {database_name(database_url)}")


def drop(database_url: str) -> None:
    _admin(database_url, f"DROP DATABASE IF EXISTS {database_name(database_url)} WITH (FORCE)")


def _admin(database_url: str, statement: str) -> None:
    import psycopg

    parts = urlsplit(database_url)
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as connection:
        connection.execute(statement.encode())
