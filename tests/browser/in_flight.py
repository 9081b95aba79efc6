"""Requests the live server is still answering.

A browser context closed at the end of a test leaves the request it was waiting for (a
dashboard poll, say) running in the live server's thread. On SQLite's shared-cache memory
database that request's open read locks a table, and the flush that ends the test fails
("database table is locked"), leaving its rows for the next test. The `live` fixture waits
here, after the contexts are closed and before the flush, until no request is in flight.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.signals import request_finished, request_started

_changed = threading.Condition()
_in_flight = 0


def _started(**kwargs: Any) -> None:
    global _in_flight
    with _changed:
        _in_flight += 1


def _finished(**kwargs: Any) -> None:
    global _in_flight
    with _changed:
        _in_flight -= 1
        _changed.notify_all()


def track() -> None:
    """Count requests from now on (once per process; connecting again changes nothing)."""
    request_started.connect(_started, dispatch_uid="tests.browser.in_flight.started")
    request_finished.connect(_finished, dispatch_uid="tests.browser.in_flight.finished")


def wait_until_idle(timeout: float = 10.0) -> bool:
    """True once no request is being answered; False if some still are after `timeout`."""
    with _changed:
        return _changed.wait_for(lambda: _in_flight <= 0, timeout=timeout)
