"""The fault-test fixtures themselves: our own PostgreSQL and Redis stop, crash and come back with
their data on the same port, and Vigil's processes start against them and stop cleanly."""

from __future__ import annotations

import socket

import pytest

from tests.faults.servers import PostgresServer, RedisServer, Vigil, port_open, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def redis_ping(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(64)


def test_postgres_keeps_its_data_through_a_stop_a_crash_and_a_restart(postgres: PostgresServer) -> None:
    postgres.psql("CREATE TABLE survivors (n int); INSERT INTO survivors VALUES (1), (2)", database="vigil")
    for interrupt in (postgres.stop, postgres.kill):
        interrupt()
        assert not port_open(postgres.port)
        postgres.start()
        assert postgres.psql("SELECT count(*) FROM survivors", database="vigil") == "2"
    postgres.restart()
    assert postgres.psql("SELECT sum(n) FROM survivors", database="vigil") == "3"
    # Seeded: Vigil's tables are migrated and one project waits.
    assert postgres.psql("SELECT count(*) FROM monitors_project", database="vigil") == "1"


def test_redis_stops_and_comes_back_on_its_port(redis: RedisServer) -> None:
    assert redis_ping(redis.port) == b"+PONG\r\n"
    redis.stop()
    assert not port_open(redis.port)
    redis.start()
    assert redis_ping(redis.port) == b"+PONG\r\n"
    redis.kill()
    assert not redis.running


def test_vigil_processes_start_against_them_and_stop(
    postgres: PostgresServer, redis: RedisServer, vigil: Vigil
) -> None:
    vigil.configure(database_url=postgres.url(), redis_url=redis.url())
    web = vigil.start_web(workers=1)
    worker = vigil.start_celery(
        "worker", "-Q", "celery", "-P", "solo", "-l", "INFO", "--without-gossip", "--without-mingle"
    )
    wait_until(lambda: "ready" in worker.output(), timeout=60, what="celery worker ready")
    assert web.alive
    vigil.close()
    assert not web.alive
    assert not worker.alive
