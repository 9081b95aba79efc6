"""`vigil agent`: long-polls Vigil for Run now requests and runs the mapped commands.

Outbound only (a job host behind NAT or a firewall works): each poll is one GET to
`/api/v1/agent/claim/` that the server holds open until a request comes or `wait` seconds
pass. A request is run as `vigil run` runs a job (start ping, the job, its result and log),
with the request's rid, so Vigil marks the run as manual. Jobs run in their own threads: a
long job does not keep the agent from taking the next request.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from vigil_client import runner
from vigil_client.api import ApiClient, ApiError, JsonDict
from vigil_client.pings import ConfigError, OnceWarner, PingTarget
from vigil_client.transport import Budget, Transport

# Seconds added to the server's wait before a poll counts as lost.
POLL_MARGIN = 15.0
# Back-off after a failed poll: doubling from the first to the last.
RETRY_FIRST, RETRY_LAST = 1.0, 60.0


@dataclass(frozen=True)
class AgentSettings:
    server: str
    api_key: str
    ping_key: str
    # Monitor slug -> argv.
    commands: dict[str, list[str]]
    wait: float
    # Seconds for one run's Vigil traffic, as `vigil run --timeout`.
    timeout: float


def _say(message: str) -> None:
    try:
        sys.stderr.write(f"vigil agent: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def serve(settings: AgentSettings, *, once: bool = False, sleep: Callable[[float], None] = time.sleep) -> int:
    """Poll until interrupted (or, with `once`, until one request has run: its exit status)."""
    slugs = sorted(settings.commands)
    _say(f"waiting for Run now requests of {len(slugs)} monitor(s): {', '.join(slugs)}")
    failures = 0
    while True:
        client = ApiClient(
            settings.server,
            settings.api_key,
            Transport(Budget(settings.wait + POLL_MARGIN), max_attempt_timeout=settings.wait + POLL_MARGIN),
        )
        try:
            request = client.claim_run_request(wait=settings.wait, slugs=slugs)
        except ApiError as exc:
            if exc.status in (401, 403):
                _say(f"{exc} (the agent needs a read-write API key of the project)")
                return 1
            failures += 1
            delay = min(RETRY_LAST, RETRY_FIRST * 2 ** (failures - 1))
            _say(f"{exc}; trying again in {delay:g} s")
            sleep(delay)
            continue
        failures = 0
        if request is None:
            continue
        if once:
            return _run(settings, request)
        threading.Thread(target=_run, args=(settings, request), name="vigil-agent-job").start()


def _run(settings: AgentSettings, request: JsonDict) -> int:
    monitor = request.get("monitor") or {}
    slug = str(monitor.get("slug") or "")
    argv = settings.commands.get(slug)
    rid = str(request.get("rid") or "")
    if argv is None:
        _say(f"request {request.get('id')} is for {slug!r}, which the monitors file does not map")
        return 2
    _say(f"running {slug} (rid {rid}, requested by {request.get('requested_by')})")
    warn = OnceWarner(lambda message: _say(f"{slug}: {message}"))
    target: PingTarget | None
    try:
        target = PingTarget.from_slug(settings.server, settings.ping_key, slug)
    except ConfigError as exc:
        warn(f"{exc}; running the command unmonitored")
        target = None
    status = runner.run_monitored(target, argv, budget=Budget(settings.timeout), warn=warn, rid=rid)
    _say(f"{slug} finished with exit status {status}")
    return status
