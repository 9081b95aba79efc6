"""Fixtures of the fault tests: our own PostgreSQL and Redis, and Vigil's processes against them.

Each fixture cleans up whatever the test did to it (stopped, killed, restarted): see servers.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.servers import PostgresServer, RedisServer, SeededCluster, Vigil, seed_cluster


@pytest.fixture(scope="session")
def seeded_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededCluster]:
    """initdb + migrate + bootstrap, once per test session."""
    seeded = seed_cluster(tmp_path_factory.mktemp("seed"))
    try:
        yield seeded
    finally:
        seeded.server.close()


@pytest.fixture
def postgres(seeded_cluster: SeededCluster) -> Iterator[PostgresServer]:
    """A started PostgreSQL of this test's own whose database `vigil` (postgres.url()) is
    migrated and holds one project, reachable with the `api_key` fixture."""
    server = PostgresServer(copy_of=seeded_cluster.data)
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def api_key(seeded_cluster: SeededCluster) -> str:
    """A read-write API key of the project in `postgres`'s database."""
    return seeded_cluster.api_key


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def vigil(tmp_path: Path) -> Iterator[Vigil]:
    """Not yet configured: call vigil.configure(database_url=..., redis_url=...) first."""
    processes = Vigil(directory=tmp_path)
    try:
        yield processes
    finally:
        processes.close()
