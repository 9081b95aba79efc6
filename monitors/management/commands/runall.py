"""`manage.py runall`: gunicorn, the Celery workers and Celery beat in one foreground command.

The embedded mode of `make run`. Two workers: one for deliveries (default queue), one for
the sweeper and the outbox dispatcher (the housekeeping queue), so a slow receiver never
holds up detection. runall supervises them: a child that exits is logged and started
again after a backoff (1 s, doubling up to 30 s while it keeps failing), and the others
keep running. Ctrl-C (or SIGTERM) stops them all.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitorsite.env import envint

STOP_GRACE_SECONDS = 10
POLL_SECONDS = 0.2
BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
# A child that ran this long before exiting gets the first delay again, not a longer one.
STABLE_SECONDS = 60.0
PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


class Command(BaseCommand):
    help = (
        "Serve the web app, the Celery workers and Celery beat until interrupted, restarting any that exits."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=envint("PORT", 8000, minimum=1, maximum=65535))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--web-workers", type=int, default=envint("WEB_CONCURRENCY", 2, minimum=1))

    def handle(self, *args: Any, port: int, host: str, web_workers: int, **options: Any) -> None:
        _check_port_free(host, port)
        supervisor = Supervisor(process_commands(host=host, port=port, web_workers=web_workers), log=_log)
        supervisor.start()
        self.stdout.write(
            f"Vigil is running at http://{host}:{port}/  (web, workers and beat; Ctrl-C stops them all)"
        )
        self.stdout.write(
            "Create a login:  .venv/bin/python manage.py createsuperuser\n"
            "Or a user, a project and an API key:\n"
            "  .venv/bin/python manage.py vigil_bootstrap --email E --password P"
        )
        self.stdout.flush()

        def stop(signum: int, frame: object) -> None:
            supervisor.stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not supervisor.stopping:
            supervisor.tend()
            time.sleep(POLL_SECONDS)
        supervisor.stop_all()


def process_commands(*, host: str, port: int, web_workers: int) -> dict[str, list[str]]:
    """The command line of each process `runall` starts, by name."""
    celery = [str(Path(sys.executable).parent / "celery"), "-A", "monitorsite"]
    return {
        "web": [
            str(Path(sys.executable).parent / "gunicorn"),
            "monitorsite.wsgi",
            "--config",
            "python:monitorsite.gunicorn_conf",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(web_workers),
            "--access-logfile",
            "-",
        ],
        "worker": [*celery, "worker", "--loglevel", "WARNING", "--concurrency", "2", "-Q", "celery"],
        "housekeeping": [
            *celery,
            "worker",
            "--loglevel",
            "WARNING",
            *_housekeeping_pool(),
            "-Q",
            settings.HOUSEKEEPING_QUEUE,
            "--hostname",
            "housekeeping@%h",
        ],
        "beat": [
            *celery,
            "beat",
            "--loglevel",
            "WARNING",
            "--schedule",
            settings.CELERY_BEAT_SCHEDULE_FILENAME,
        ],
    }


def _housekeeping_pool() -> list[str]:
    """PostgreSQL: two processes, so a backlog of due monitors is split between them (SKIP
    LOCKED); SQLite takes one writer at a time, so one process in the worker itself."""
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return ["--concurrency", "2"]
    return ["--pool", "solo"]


@dataclass
class Child:
    name: str
    command: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    # Exits in a row, each within STABLE_SECONDS of its start: the backoff grows with them.
    quick_exits: int = 0
    restart_at: float | None = None


@dataclass
class Supervisor:
    commands: dict[str, list[str]]
    log: Callable[[str], None]
    stopping: bool = False
    children: dict[str, Child] = field(default_factory=dict)

    def start(self) -> None:
        for name, command in self.commands.items():
            self.children[name] = Child(name, command)
            self._spawn(self.children[name])

    def tend(self) -> None:
        """Notice exited children and start again those whose backoff has passed."""
        now = time.monotonic()
        for child in self.children.values():
            if child.process is not None and child.process.poll() is not None:
                self._schedule_restart(child, now)
            if child.restart_at is not None and now >= child.restart_at and not self.stopping:
                child.restart_at = None
                child.restarts += 1
                self._spawn(child)
                assert child.process is not None
                self.log(f"{child.name} restarted (pid {child.process.pid}, restart {child.restarts})")

    def stop_all(self) -> None:
        """Ctrl-C for each child (gunicorn stops at once, Celery warmly); SIGKILL after the grace."""
        running = [child.process for child in self.children.values() if child.process is not None]
        for process in running:
            if process.poll() is None:
                _signal_group(process, signal.SIGINT)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            # Whatever the child left behind (gunicorn's or Celery's pool processes).
            _signal_group(process, signal.SIGKILL)

    def _spawn(self, child: Child) -> None:
        # Its own process group, so a crashed child's leftovers can be killed with it; and
        # killed with us if runall itself dies (Linux), rather than left serving alone.
        child.process = subprocess.Popen(child.command, process_group=0, preexec_fn=_die_with_parent)
        child.started_at = time.monotonic()

    def _schedule_restart(self, child: Child, now: float) -> None:
        assert child.process is not None
        code = child.process.returncode
        _signal_group(child.process, signal.SIGKILL)
        child.process = None
        if self.stopping:
            return
        ran = now - child.started_at
        child.quick_exits = 1 if ran >= STABLE_SECONDS else child.quick_exits + 1
        delay = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** (child.quick_exits - 1))
        child.restart_at = now + delay
        self.log(f"{child.name} exited ({_describe(code)}) after {ran:.1f} s; restarting in {delay:.0f} s")


def _describe(code: int) -> str:
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def _die_with_parent() -> None:
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _check_port_free(host: str, port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise CommandError(
                f"cannot serve on {host}:{port} ({error.strerror}): PORT=N picks another port"
            ) from None


def _log(message: str) -> None:
    print(f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] runall: {message}", file=sys.stderr, flush=True)
