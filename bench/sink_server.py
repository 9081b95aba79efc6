"""The HTTP server under the benchmarks' loopback webhook sinks."""

from __future__ import annotations

from http.server import ThreadingHTTPServer


class SinkServer(ThreadingHTTPServer):
    """A threading server with a production-sized listen backlog.

    socketserver's backlog is 5: a burst from 24 delivery threads overflowed it, and each
    dropped SYN was retried only after TCP's 1 s retransmit timeout, so the sink, not Vigil,
    set the pace of a burst. A production receiver queues them (nginx's backlog is 511).
    """

    request_queue_size = 511
