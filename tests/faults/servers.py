"""Real servers for fault tests: a private PostgreSQL, a private redis-server, and Vigil's own
processes (gunicorn, Celery, `manage.py`) pointed at them. Each runs on its own free port and
can be stopped, killed and restarted at will; everything is cleaned up when the test ends.
The machine's services on 5432 and 6379 are never touched.

Pytest fixtures (tests/faults/conftest.py) hand these out:

    def test_pings_survive_a_restart(postgres: PostgresServer, redis: RedisServer, vigil: Vigil,
                                     api_key: str):
        # postgres: started, database `vigil` migrated, one project; api_key: its read-write key
        vigil.configure(database_url=postgres.url(), redis_url=redis.url())
        web = vigil.start_web(workers=2)             # gunicorn; web.base_url
        worker = vigil.start_celery("worker", "-Q", "celery", "-P", "solo")
        answer = http_request(web.base_url, "GET", "/healthz")
        postgres.stop()                              # or .kill() (a crash), .restart()
        ...
        postgres.start()                             # the same data, the same port

- `PostgresServer`: `initdb` into a temporary directory as an unprivileged user (`nobody` when
  the tests run as root, else the current user), a free port on 127.0.0.1, durable defaults
  (fsync on). `start()`, `stop(mode="fast"|"immediate")`, `kill()` (SIGKILL of the postmaster:
  a crash), `restart()`, `url(database)`, `psql(sql)`; `close()` stops it and deletes its files.
  `seed_cluster()` builds, once per session, a stopped cluster with Vigil migrated and one
  project bootstrapped; `PostgresServer(copy_of=seeded.data)` starts each test from a copy.
  For a cluster with nothing in it: `PostgresServer()`, `.start()`, `.create_database("x")`.
- `RedisServer`: `redis-server` on a free port with no persistence; `start()`, `stop()`
  (SIGTERM), `kill()`, `restart()`, `url(db)`, `close()`.
- `Vigil`: the environment of Vigil's processes (`configure(...)`: database, Redis, SITE_URL,
  extra variables), one-shot `manage(...)` commands, and long-running processes
  (`start_web`, `start_celery`), each a `Process` with `stop()`, `kill()`, `alive`, and its log
  file; `close()` stops them all. `logs()` gathers every log, for failure messages.
- `http_request(...)`: one raw HTTP request (any bytes in the path, headers and body) and its
  answer, without client-side validation getting in the way.
"""

from __future__ import annotations

import http.client
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
UNPRIVILEGED_USER = "nobody"
START_TIMEOUT_SECONDS = 60
# Variables of the test run that must not leak into Vigil's processes.
TEST_RUN_VARIABLES = ("DATABASE_URL", "REDIS_URL", "VIGIL_SQLITE_PATH", "SITE_URL", "DJANGO_SETTINGS_MODULE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not after {timeout} s")
        time.sleep(interval)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class ServerError(RuntimeError):
    """A server did not start or stop; the message carries the end of its log."""


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


# --- PostgreSQL ------------------------------------------------------------------------------


class PostgresServer:
    """A PostgreSQL cluster of our own. PostgreSQL refuses to run as root, hence `runuser`.

    `copy_of`: the data directory of a stopped cluster to start from (much faster than initdb
    and migrate for every test; see `seed_cluster`).
    """

    def __init__(self, copy_of: Path | None = None) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="vigil-faults-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        self.port = free_port()
        self.user = UNPRIVILEGED_USER if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        if os.geteuid() == 0:
            account = pwd.getpwnam(self.user)
            os.chown(self.directory, account.pw_uid, account.pw_gid)
        self.directory.chmod(0o700)
        if copy_of is None:
            self._run(
                "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"
            )
        else:
            self._run("cp", "-a", str(copy_of), str(self.data))

    def _command(self, *args: str) -> list[str]:
        return ["runuser", "-u", self.user, "--", *args] if os.geteuid() == 0 else list(args)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self._command(*args),
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_SECONDS,
            cwd=self.directory,
        )
        if check and result.returncode != 0:
            raise ServerError(
                f"{' '.join(args[:2])} failed:\n{result.stdout}{result.stderr}\n{_tail(self.log)}"
            )
        return result

    @property
    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def start(self) -> None:
        options = (
            f"-c port={self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.directory}"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        """`fast`: clean shutdown, sessions cut; `immediate`: no checkpoint, recovery at next start."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def kill(self) -> None:
        """SIGKILL the postmaster, as a crash would (its children follow)."""
        pid_file = self.data / "postmaster.pid"
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not port_open(self.port), timeout=30, what="PostgreSQL gone after SIGKILL")
        # Backends outlive a killed postmaster for a moment; the next start waits for them.
        wait_until(lambda: not self.running, timeout=30, what="postmaster.pid released")

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def url(self, database: str = "vigil") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database,
             "-v", "ON_ERROR_STOP=1", "-At", "-c", sql],
            capture_output=True,
            text=True,
            timeout=60,
        )  # fmt: skip
        if result.returncode != 0:
            raise ServerError(f"psql failed: {result.stderr}")
        return result.stdout.strip()

    def create_database(self, name: str = "vigil") -> str:
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def close(self) -> None:
        if self.data.exists() and self.running:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.directory, ignore_errors=True)


# --- Redis -------------------------------------------------------------------------------------


class RedisServer:
    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="vigil-faults-redis-"))
        self.log = self.directory / "redis.log"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        command = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.directory), "--logfile", str(self.log),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, start_new_session=True)
        try:
            wait_until(
                lambda: port_open(self.port), timeout=START_TIMEOUT_SECONDS, what="redis-server listening"
            )
        except TimeoutError:
            raise ServerError(f"redis-server did not start:\n{_tail(self.log)}") from None

    def stop(self) -> None:
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        self._end(signal.SIGKILL)

    def _end(self, signum: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)
            self.process.wait(timeout=30)
        wait_until(lambda: not port_open(self.port), timeout=30, what="redis-server gone")

    def restart(self) -> None:
        self.stop()
        self.start()

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def close(self) -> None:
        if self.running:
            self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)


# --- Vigil's processes -------------------------------------------------------------------------


@dataclass
class Process:
    """A long-running process in its own session, so that stop() and kill() reach its children."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    base_url: str = ""

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM (a graceful stop), then SIGKILL if it is still there after `timeout`."""
        if self.alive:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        if self.alive:
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)

    def output(self) -> str:
        return _tail(self.log)


@dataclass
class Vigil:
    """Vigil's processes against servers of the test's choosing (SQLite when no database URL)."""

    directory: Path
    env: dict[str, str] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)

    def configure(
        self,
        *,
        database_url: str | None = None,
        redis_url: str | None = None,
        site_url: str = "http://127.0.0.1",
        **variables: str,
    ) -> None:
        """The environment of every process started from now on."""
        env = {key: value for key, value in os.environ.items() if key not in TEST_RUN_VARIABLES}
        env.update(
            VIGIL_VAR_DIR=str(self.directory / "var"),
            SECRET_KEY="fault-tests-" + "x" * 50,
            DEBUG="false",
            SITE_URL=site_url,
            WEBHOOKS_ALLOW_PRIVATE_IPS="true",
        )
        if database_url:
            env["DATABASE_URL"] = database_url
        else:
            env["VIGIL_SQLITE_PATH"] = str(self.directory / "vigil.sqlite3")
        if redis_url:
            env["REDIS_URL"] = redis_url
        env.update(variables)
        self.env = env

    def manage(self, *args: str, timeout: float = 300) -> str:
        """Run `manage.py <args>` to completion; its standard output."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise ServerError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def migrate(self) -> None:
        self.manage("migrate", "--noinput", "--verbosity", "0")

    def bootstrap(self, email: str = "faults@example.com", password: str = "fault-tests") -> str:
        """A user, their project and a read-write API key (returned)."""
        return (
            self.manage("vigil_bootstrap", "--email", email, "--password", password).strip().splitlines()[-1]
        )

    def start(self, name: str, command: list[str], *, base_url: str = "") -> Process:
        log = self.directory / f"{name}-{len(self.processes)}.log"
        with log.open("wb") as output:
            popen = subprocess.Popen(
                command,
                cwd=REPO,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = Process(name=name, popen=popen, log=log, base_url=base_url)
        self.processes.append(process)
        return process

    def start_web(self, *, workers: int = 2, extra: tuple[str, ...] = ()) -> Process:
        """gunicorn as production runs it (sync workers), ready when it answers HTTP."""
        port = free_port()
        command = [
            str(BIN / "gunicorn"), "monitorsite.wsgi", "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--timeout", "60", *extra,
        ]  # fmt: skip
        web = self.start("web", command, base_url=f"http://127.0.0.1:{port}")

        def answering() -> bool:
            if not web.alive:
                raise ServerError(f"gunicorn exited:\n{web.output()}")
            try:
                http_request(web.base_url, "GET", "/healthz", timeout=5)
            except OSError:
                return False
            return True

        wait_until(answering, timeout=START_TIMEOUT_SECONDS, what="gunicorn answering", interval=0.1)
        return web

    def start_celery(self, *args: str, name: str = "celery") -> Process:
        """`celery -A monitorsite <args>`, e.g. ("worker", "-Q", "celery", "-P", "solo") or ("beat",)."""
        return self.start(name, [str(BIN / "celery"), "-A", "monitorsite", *args])

    def start_worker(self, *queues: str, name: str = "worker") -> Process:
        """A solo-pool worker (one task at a time, in the process SIGKILL ends) on `queues`
        ("celery" delivers, "housekeeping" sweeps and dispatches), once it is ready."""
        worker = self.start_celery(
            "worker", "-Q", ",".join(queues), "-P", "solo", "-l", "INFO", "--without-gossip",
            "--without-mingle", "--hostname", f"{name}-{len(self.processes)}@%h", name=name,
        )  # fmt: skip

        def ready() -> bool:
            if not worker.alive:
                raise ServerError(f"celery worker exited:\n{worker.output()}")
            return " ready." in worker.log.read_text(errors="replace")

        wait_until(ready, timeout=START_TIMEOUT_SECONDS, what="celery worker ready", interval=0.1)
        return worker

    def start_beat(self) -> Process:
        """celery beat with a schedule file of its own (two beats may run side by side)."""
        schedule = self.directory / f"beat-{len(self.processes)}.schedule"
        return self.start_celery("beat", "-l", "INFO", "--schedule", str(schedule), name="beat")

    def logs(self) -> str:
        return "\n".join(f"--- {process.name} ---\n{process.output()}" for process in self.processes)

    def close(self, timeout: float = 5) -> None:
        """SIGTERM to every process at once, then SIGKILL to whatever is left after `timeout`."""
        for process in self.processes:
            if process.alive:
                with suppress(ProcessLookupError):
                    os.killpg(process.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes:
            try:
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()


# --- HTTP ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def http_request(
    base_url: str,
    method: str,
    path: str | bytes,
    *,
    body: bytes = b"",
    headers: Mapping[str, str | bytes] | None = None,
    timeout: float = 30,
) -> Answer:
    """One request exactly as given: the path and header values may hold any bytes.

    Raises OSError when nothing answers (connection refused, reset, timed out).
    """
    host, port = base_url.removeprefix("http://").split(":")
    target = path if isinstance(path, bytes) else path.encode("utf-8", "surrogateescape")
    lines = [method.encode("latin-1") + b" " + target + b" HTTP/1.1", f"Host: {host}:{port}".encode()]
    for name, value in (headers or {}).items():
        lines.append(name.encode("latin-1") + b": " + (value if isinstance(value, bytes) else value.encode()))
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}".encode())
    lines.append(b"Connection: close")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        # The server may answer before reading everything: its answer is still there to read.
        with suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        payload = response.read()
        answer_headers = {name.lower(): value for name, value in response.getheaders()}
        return Answer(status=response.status, headers=answer_headers, body=payload)


@dataclass(frozen=True)
class SeededCluster:
    """A stopped cluster whose database `vigil` is migrated and holds one bootstrapped project."""

    server: PostgresServer
    api_key: str

    @property
    def data(self) -> Path:
        return self.server.data


def seed_cluster(directory: Path) -> SeededCluster:
    """initdb, migrate and `vigil_bootstrap` once; copy it with PostgresServer(copy_of=...)."""
    server = PostgresServer()
    server.start()
    server.create_database("vigil")
    vigil = Vigil(directory=directory)
    vigil.configure(database_url=server.url())
    vigil.migrate()
    api_key = vigil.bootstrap()
    server.stop()
    return SeededCluster(server=server, api_key=api_key)


@contextmanager
def servers() -> Iterator[tuple[PostgresServer, RedisServer]]:
    """Both servers started, for scripts outside pytest; closed on the way out."""
    postgres, redis = PostgresServer(), RedisServer()
    try:
        postgres.start()
        redis.start()
        yield postgres, redis
    finally:
        redis.close()
        postgres.close()
