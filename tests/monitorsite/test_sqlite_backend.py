"""The embedded mode's SQLite backend (monitorsite/sqlite_backend): write transactions take turns.

Each case runs Django in separate processes on a real SQLite file, as `make run`'s web
workers and Celery workers do (the tests' own database is in memory).
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent

SETUP = """
import json, os, sys, threading
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "monitorsite.settings"
django.setup()
from django.db import connection, connections, transaction
assert type(connections["default"]).__module__ == "monitorsite.sqlite_backend.base"
with connection.cursor() as cursor:
    cursor.execute("CREATE TABLE IF NOT EXISTS job (id INTEGER PRIMARY KEY, writer TEXT NOT NULL)")
"""


def run_django(tmp_path: Path, script: str, *args: str) -> subprocess.Popen[str]:
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(VIGIL_VAR_DIR=str(tmp_path / "var"), VIGIL_SQLITE_PATH=str(tmp_path / "app.sqlite3"))
    return subprocess.Popen(
        [sys.executable, "-c", SETUP + textwrap.dedent(script), *args],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def lock_is_free(database: Path) -> bool:
    descriptor = os.open(f"{database}-writelock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)
    return True


def test_a_write_transaction_holds_the_shared_write_lock_until_it_commits(tmp_path: Path) -> None:
    writer = run_django(
        tmp_path,
        """
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("INSERT INTO job (writer) VALUES ('held')")
            print("in", flush=True)
            sys.stdin.readline()
        print("committed", flush=True)
        sys.stdin.readline()
        """,
    )
    assert writer.stdin is not None
    assert writer.stdout is not None
    try:
        assert writer.stdout.readline().strip() == "in", writer.stderr
        database = tmp_path / "app.sqlite3"
        assert not lock_is_free(database)
        writer.stdin.write("\n")
        writer.stdin.flush()
        assert writer.stdout.readline().strip() == "committed"
        assert lock_is_free(database)
    finally:
        writer.kill()
        writer.wait()


@pytest.mark.slow
def test_writers_in_many_threads_and_processes_all_commit(tmp_path: Path) -> None:
    # 3 processes x 8 threads x 40 transactions, each reading then writing.
    script = """
    errors = []

    def write(thread):
        try:
            for n in range(40):
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT count(*) FROM job")
                        cursor.execute("INSERT INTO job (writer) VALUES (%s)", [f"{sys.argv[1]}-{thread}"])
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(errors)
    sys.exit(1 if errors else 0)
    """
    # The table first, so that no writer has to create it.
    setup = run_django(tmp_path, "")
    assert setup.wait() == 0, setup.communicate()[1]
    writers = [run_django(tmp_path, script, str(process)) for process in range(3)]
    for writer in writers:
        output, errors = writer.communicate(timeout=240)
        assert writer.returncode == 0, (output, errors)
    reader = run_django(
        tmp_path,
        """
        with connection.cursor() as cursor:
            cursor.execute("SELECT writer, count(*) FROM job GROUP BY writer")
            print(json.dumps(dict(cursor.fetchall())))
        """,
    )
    output, errors = reader.communicate(timeout=60)
    assert reader.returncode == 0, errors
    assert json.loads(output) == {f"{process}-{thread}": 40 for process in range(3) for thread in range(8)}
