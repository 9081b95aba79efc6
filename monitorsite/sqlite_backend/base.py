"""SQLite whose write transactions queue on locks that wake the next writer at once.

SQLite lets one writer in at a time; the others spin in its busy handler, which sleeps
1, 2, 5, … up to 100 ms between tries, so under load a writer often sleeps long after
the lock came free. With many threads per process (gunicorn's gthread workers) those
sleeps, not the writes, made the ping tail (p99 1.7 s). Here every write transaction
(each `atomic` block begins `BEGIN IMMEDIATE`) first takes a process-wide thread lock,
then an exclusive `flock` on `<database>-writelock` shared by all of `make run`'s
processes: waiters block in the kernel and are woken when the holder commits, and
SQLite's busy handler is left only for the odd autocommit write. A process that dies
holding the flock loses it with its file descriptors.
"""

from __future__ import annotations

import fcntl
import os
import threading
from typing import Any

from django.db import OperationalError
from django.db.backends.sqlite3 import base

# One per process: every connection to the database in this process shares it.
_THREAD_LOCK = threading.Lock()
# (pid, database path) -> descriptor of its lock file; a forked child opens its own, since
# flock belongs to the open file, which a fork shares with the parent.
_LOCK_FILES: dict[tuple[int, str], int] = {}


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_lock = False

    def _start_transaction_under_autocommit(self) -> None:
        # The same patience as SQLite's own busy timeout, and the same error when it runs out.
        timeout = float(self.settings_dict["OPTIONS"].get("timeout", 5))
        if not _THREAD_LOCK.acquire(timeout=timeout):
            raise OperationalError("database is locked (this process's other writers held it)")
        self._holds_write_lock = True
        try:
            if not self.is_in_memory_db():
                fcntl.flock(_lock_file(self.settings_dict["NAME"]), fcntl.LOCK_EX)
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
        except BaseException:
            self._release_write_lock()
            raise

    def _commit(self) -> Any:
        try:
            return super()._commit()  # type: ignore[misc]
        finally:
            self._release_write_lock()

    def _rollback(self) -> Any:
        try:
            return super()._rollback()  # type: ignore[misc]
        finally:
            self._release_write_lock()

    def _close(self) -> Any:
        try:
            return super()._close()  # type: ignore[misc]
        finally:
            self._release_write_lock()

    def _release_write_lock(self) -> None:
        if not self._holds_write_lock:
            return
        self._holds_write_lock = False
        try:
            if not self.is_in_memory_db():
                fcntl.flock(_lock_file(self.settings_dict["NAME"]), fcntl.LOCK_UN)
        finally:
            _THREAD_LOCK.release()


def _lock_file(database: str) -> int:
    key = (os.getpid(), str(database))
    if key not in _LOCK_FILES:
        _LOCK_FILES[key] = os.open(f"{database}-writelock", os.O_RDWR | os.O_CREAT, 0o600)
    return _LOCK_FILES[key]
