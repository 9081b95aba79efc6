"""`manage.py runall`: gunicorn, the Celery workers and Celery beat in one foreground command.

The embedded mode of `make run`; Ctrl-C (or SIGTERM) stops them all. Two workers: one for
deliveries (default queue), one for the sweeper and the outbox dispatcher (the
housekeeping queue), so a slow receiver never holds up detection.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

STOP_GRACE_SECONDS = 10


class Command(BaseCommand):
    help = "Serve the web app, the Celery workers and Celery beat until interrupted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))

    def handle(self, *args: Any, port: int, host: str, web_workers: int, **options: Any) -> None:
        commands = process_commands(host=host, port=port, web_workers=web_workers)
        processes = {name: subprocess.Popen(command) for name, command in commands.items()}
        self.stdout.write(
            f"Vigil is running at http://{host}:{port}/  (web, workers and beat; Ctrl-C stops them all)"
        )
        self.stdout.write(
            "Create a login:  .venv/bin/python manage.py createsuperuser\n"
            "Or a user, a project and an API key:\n"
            "  .venv/bin/python manage.py vigil_bootstrap --email E --password P"
        )
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping:
            exited = [name for name, process in processes.items() if process.poll() is not None]
            if exited:
                self.stderr.write(f"{', '.join(exited)} stopped; stopping the rest")
                break
            time.sleep(0.5)
        _stop_all(list(processes.values()))


def process_commands(*, host: str, port: int, web_workers: int) -> dict[str, list[str]]:
    """The command line of each process `runall` starts, by name."""
    celery = [str(Path(sys.executable).parent / "celery"), "-A", "monitorsite"]
    return {
        "web": [
            str(Path(sys.executable).parent / "gunicorn"),
            "monitorsite.wsgi",
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
            "--pool",
            "solo",
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


def _stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
