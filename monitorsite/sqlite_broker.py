"""The Celery broker of `make run`: a queue table in its own SQLite file, `var/broker.sqlite3`.

Why not kombu's own choices (README, "The embedded broker"): the file-system transport
reads half-written message files and crashes the worker (celery/kombu#1551); the
SQLAlchemy transport needs SQLAlchemy, keeps every delivered message forever and loses
what a killed worker had taken. Here:

- Publishing is one INSERT; taking a message is one UPDATE … RETURNING that marks the
  oldest waiting one as leased by this process (`owner`), and acknowledging it DELETEs it. A message is never
  lost between the two: if its consumer is killed, the lease is released as soon as
  another consumer sees that the owner's process is gone (or, should its pid have been
  reused, after LEASE_SECONDS, like Redis's visibility timeout), and it is delivered again.
  Tasks are idempotent and the notification outbox lives in the main database, so a
  redelivery costs nothing.
- Its own file, in WAL mode: readers never block writers, and the broker's writes never
  queue behind the application's (the main database takes one writer at a time).
- Every statement runs on its own in autocommit, so no transaction ever upgrades from
  reading to writing (which SQLite answers with "database is locked" at once); a busy
  file is waited for (BUSY_TIMEOUT_SECONDS), and a failure is a connection error that
  Celery retries and reconnects from.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from queue import Empty
from typing import Any

from kombu.transport import virtual

BUSY_TIMEOUT_SECONDS = 20.0
# A leased message whose owner's pid still answers is given back after this long anyway.
LEASE_SECONDS = 3600.0
# How often a consumer looks for messages leased by processes that no longer exist.
RECLAIM_EVERY_SECONDS = 2.0
DEFAULT_POLLING_INTERVAL = 0.1
URL_SCHEME = "sqlite-broker"

SCHEMA = """
CREATE TABLE IF NOT EXISTS message (
    id INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    delivery_tag TEXT NOT NULL,
    payload TEXT NOT NULL,
    -- "<pid>:<token>" of the consumer holding it; NULL while it waits in its queue.
    owner TEXT,
    leased_at REAL
);
CREATE INDEX IF NOT EXISTS message_ready ON message (queue, owner, id);
CREATE INDEX IF NOT EXISTS message_delivery_tag ON message (delivery_tag);
"""

# This process's consumer identity: the token tells a restarted process that reuses an
# old pid apart from its dead predecessor.
_TOKEN = secrets.token_hex(8)


def _owner() -> str:
    return f"{os.getpid()}:{_TOKEN}"


def _owner_alive(owner: str) -> bool:
    pid_text, _, token = owner.partition(":")
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if pid == os.getpid():
        return token == _TOKEN
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def database_path(url: str) -> str:
    """`sqlite-broker:///abs/path.sqlite3` -> `/abs/path.sqlite3`."""
    scheme, separator, path = url.partition("://")
    if scheme != URL_SCHEME or not separator or not path.startswith("/"):
        raise ValueError(f"expected {URL_SCHEME}:///absolute/path/to/broker.sqlite3, got {url!r}")
    return path


class QoS(virtual.QoS):
    """Acknowledging deletes the message; rejecting deletes it or gives it back."""

    channel: Channel

    def ack(self, delivery_tag: str) -> None:
        self.channel._forget(delivery_tag)
        super().ack(delivery_tag)

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        if requeue:
            self.channel._release(delivery_tag)
        else:
            self.channel._forget(delivery_tag)
        super().ack(delivery_tag)


class Channel(virtual.Channel):
    QoS = QoS

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        self._path = database_path(connection.client.hostname)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._db_pid = 0
        self._no_ack_queues: set[str] = set()
        self._next_reclaim = 0.0
        super().__init__(connection, **kwargs)
        self._database()

    def _database(self) -> sqlite3.Connection:
        """This process's connection (a forked child opens its own: SQLite handles must not cross a fork)."""
        if self._db is None or self._db_pid != os.getpid():
            db = sqlite3.connect(
                self._path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL survives any process crash; the outbox in the main database
            # (synchronous=FULL) is the record that survives a power loss.
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            self._db, self._db_pid = db, os.getpid()
        return self._db

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._database().execute(sql, params)

    def _fetch_all(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        """Runs `sql` to its end under the lock: a RETURNING statement not read to the end
        would keep its write transaction open."""
        with self._lock:
            return self._database().execute(sql, params).fetchall()

    def _put(self, queue: str, message: dict[str, Any], **kwargs: Any) -> None:
        self._execute(
            "INSERT INTO message (queue, delivery_tag, payload) VALUES (?, ?, ?)",
            (queue, message["properties"]["delivery_tag"], json.dumps(message)),
        )

    def _get(self, queue: str, timeout: float | None = None) -> dict[str, Any]:
        self._reclaim_dead_leases()
        # One statement picks and takes the message and answers the payload of the row it
        # took. A SELECT then UPDATE by id could take a different message: once the row it
        # read is acknowledged (deleted), SQLite hands its rowid to the next INSERT, and the
        # UPDATE would lease that new message while the old payload was delivered again.
        oldest = "SELECT id FROM message WHERE queue = ? AND owner IS NULL ORDER BY id LIMIT 1"
        if queue in self._no_ack_queues:
            rows = self._fetch_all(f"DELETE FROM message WHERE id = ({oldest}) RETURNING payload", (queue,))
        else:
            rows = self._fetch_all(
                f"UPDATE message SET owner = ?, leased_at = ? WHERE id = ({oldest}) RETURNING payload",
                (_owner(), time.time(), queue),
            )
        if not rows:
            raise Empty()
        message: dict[str, Any] = json.loads(rows[0][0])
        return message

    def _forget(self, delivery_tag: str) -> None:
        self._execute("DELETE FROM message WHERE delivery_tag = ?", (delivery_tag,))

    def _release(self, delivery_tag: str) -> None:
        self._execute(
            "UPDATE message SET owner = NULL, leased_at = NULL WHERE delivery_tag = ?", (delivery_tag,)
        )

    def _restore(self, message: Any) -> None:
        """An unacknowledged message (at shutdown, or rejected with requeue) goes back to its queue."""
        self._release(message.delivery_tag)

    def _reclaim_dead_leases(self) -> None:
        now = time.monotonic()
        if now < self._next_reclaim:
            return
        self._next_reclaim = now + RECLAIM_EVERY_SECONDS
        owners = [
            owner for (owner,) in self._execute("SELECT DISTINCT owner FROM message WHERE owner IS NOT NULL")
        ]
        for owner in owners:
            if not _owner_alive(owner):
                self._execute("UPDATE message SET owner = NULL, leased_at = NULL WHERE owner = ?", (owner,))
        self._execute(
            "UPDATE message SET owner = NULL, leased_at = NULL WHERE owner IS NOT NULL AND leased_at < ?",
            (time.time() - LEASE_SECONDS,),
        )

    def _size(self, queue: str) -> int:
        row = self._execute(
            "SELECT count(*) FROM message WHERE queue = ? AND owner IS NULL", (queue,)
        ).fetchone()
        return int(row[0])

    def _purge(self, queue: str) -> int:
        return self._execute("DELETE FROM message WHERE queue = ? AND owner IS NULL", (queue,)).rowcount

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        self._execute("DELETE FROM message WHERE queue = ?", (queue,))

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        return True

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        """Queues are only a column: nothing to create."""

    def basic_consume(self, queue: str, no_ack: bool, *args: Any, **kwargs: Any) -> Any:
        if no_ack:
            self._no_ack_queues.add(queue)
        return super().basic_consume(queue, no_ack, *args, **kwargs)

    def basic_get(self, queue: str, no_ack: bool = False, **kwargs: Any) -> Any:
        message = super().basic_get(queue, no_ack=no_ack, **kwargs)
        if message is not None and no_ack:
            self._forget(str(message.delivery_tag))
        return message

    def close(self) -> None:
        super().close()
        if self._db is not None and self._db_pid == os.getpid():
            self._db.close()
        self._db = None


class Transport(virtual.Transport):
    Channel = Channel
    polling_interval = DEFAULT_POLLING_INTERVAL
    # The URL names the file; kombu hands it over whole.
    can_parse_url = True
    # A busy or unreadable file: Celery retries the publish, or reconnects the consumer.
    connection_errors = (sqlite3.OperationalError,)
    channel_errors = (sqlite3.OperationalError,)
    driver_type = "sqlite"
    driver_name = "sqlite3"

    def driver_version(self) -> str:
        return sqlite3.sqlite_version
