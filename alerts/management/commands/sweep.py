"""`manage.py sweep`: run the sweeper in the foreground (an alternative to the beat task)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from alerts.sweeper import sweep

INTERVAL_SECONDS = 1.0


class Command(BaseCommand):
    help = "Process due monitors every second; --until-idle stops when nothing is due."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--until-idle", action="store_true", help="Stop after a pass that processed nothing."
        )

    def handle(self, *args: Any, until_idle: bool, **options: Any) -> None:
        total = 0
        while True:
            processed = sweep()
            total += processed
            if until_idle and processed == 0:
                self.stdout.write(f"processed {total}")
                return
            if processed == 0:
                time.sleep(INTERVAL_SECONDS)
