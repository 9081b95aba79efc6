"""Gunicorn's threaded worker, with a bound on how long a request may stall its thread.

In gthread a request holds one thread from its first byte until its response is sent,
and the stock worker waits on the client's socket without a timeout: a client that
stops half-way (a slowloris, or a host that vanished without closing) keeps its thread
for ever. Here a thread gives up on a client that sends nothing for `timeout` seconds
(the same setting the sync worker uses), so stalled connections free their threads.
"""

from __future__ import annotations

from typing import Any

from gunicorn.workers.gthread import ThreadWorker as GunicornThreadWorker


class ThreadWorker(GunicornThreadWorker):
    def handle(self, conn: Any) -> Any:
        conn.sock.settimeout(self.cfg.timeout)
        return super().handle(conn)
