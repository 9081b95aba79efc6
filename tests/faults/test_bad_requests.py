"""10,000 generated bad requests at the ping endpoints and 2,000 at the API, sent to a real
gunicorn on SQLite (the SQLite pass) or PostgreSQL (the PostgreSQL pass): no answer is a
5xx, none says a ping or a write went through, and the stored monitors, runs, pings,
channels, keys and maintenance windows are the same afterwards. See bad_requests.py for
what is sent and why it may change nothing.

Seeded and reproducible: the seed is printed (and named in every failure); rerun one with
VIGIL_BAD_REQUEST_SEED=<seed>.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import ON_POSTGRES
from tests.faults.bad_requests import Request, Targets, generate_api_requests, generate_ping_requests
from tests.faults.servers import Answer, Process, Vigil, http_request

pytestmark = pytest.mark.slow

PING_REQUESTS = 10_000
API_REQUESTS = 2_000
CLIENT_THREADS = 4
WEB_WORKERS = 3
# A field that reads may update; nothing else may change.
VOLATILE_FIELDS = {"monitors.apikey": {"last_used_at"}}


def seed() -> int:
    chosen = int(os.environ.get("VIGIL_BAD_REQUEST_SEED") or random.SystemRandom().randrange(2**32))
    print(f"bad-request seed: {chosen} (rerun with VIGIL_BAD_REQUEST_SEED={chosen})")
    return chosen


class Api:
    def __init__(self, web: Process, key: str) -> None:
        self.web, self.key = web, key

    def __call__(self, method: str, path: str, payload: object = None) -> Any:
        body = json.dumps(payload).encode() if payload is not None else b""
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        answer = http_request(self.web.base_url, method, f"/api/v1/{path}", body=body, headers=headers)
        assert answer.status < 300, (method, path, answer.status, answer.text())
        return json.loads(answer.body) if answer.body else None


def seed_data(vigil: Vigil, web: Process, api_key: str) -> Targets:
    """Two projects with monitors, runs, pings, channels, keys and a maintenance window."""
    api = Api(web, api_key)
    monitors = [
        api("POST", "monitors/", {"name": "Nightly backup", "slug": "nightly-backup", "tags": ["db"]}),
        api("POST", "monitors/", {"name": "Hourly sync", "schedule": {"kind": "interval", "seconds": 3600}}),
        api(
            "POST",
            "monitors/",
            {
                "name": "Report",
                "schedule": {"kind": "cron", "expression": "0 3 * * *", "timezone": "Europe/Berlin"},
                "rules": [{"field": "rows", "op": "lt", "value": 1}],
            },
        ),
    ]
    channels = [
        api(
            "POST",
            "channels/",
            {"kind": "webhook", "name": "hook", "config": {"url": "http://93.184.216.34/h"}},
        ),
        api("POST", "channels/", {"kind": "email", "name": "mail", "config": {"to": ["ops@example.com"]}}),
    ]
    window = api(
        "POST",
        "maintenance/",
        {"name": "upgrade", "starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-01T02:00:00Z"},
    )
    read_only_key = api("POST", "keys/", {"name": "dashboards", "read_only": True})["key"]
    project = api("GET", "project/")
    for monitor in monitors:
        uuid = monitor["ping_url"].rsplit("/", 1)[-1]
        for path, body in (
            (f"/ping/{uuid}/start", b""),
            (f"/ping/{uuid}", b'{"meta": {"rows": 5}, "log": "ok"}'),
        ):
            assert http_request(web.base_url, "POST", path, body=body).status == 200
        # Exit status 0: a failure is judged at once and the monitor is down, and a status page
        # whose odd tag does not survive decoding (a utf-16 Content-Type) then rightly answers 503.
        assert (
            http_request(web.base_url, "GET", f"/ping/{project['ping_key']}/{monitor['slug']}/0").status
            == 200
        )

    other = Api(web, vigil.bootstrap(email="other@example.com"))
    other_monitor = other("POST", "monitors/", {"name": "Theirs"})
    other_channel = other(
        "POST", "channels/", {"kind": "email", "name": "x", "config": {"to": ["x@example.com"]}}
    )
    return Targets(
        ping_uuids=[monitor["ping_url"].rsplit("/", 1)[-1] for monitor in monitors],
        ping_key=project["ping_key"],
        status_key=project["status_key"],
        badge_key=project["badge_key"],
        slugs=[monitor["slug"] for monitor in monitors],
        api_key=api_key,
        read_only_key=read_only_key,
        other_api_key=other.key,
        monitor_ids=[monitor["id"] for monitor in monitors],
        channel_ids=[channel["id"] for channel in channels],
        window_ids=[window["id"]],
        key_ids=[key["id"] for key in api("GET", "keys/")["results"]],
        other_monitor_ids=[other_monitor["id"]],
        other_channel_ids=[other_channel["id"]],
    )


def snapshot(vigil: Vigil) -> list[dict[str, Any]]:
    rows = json.loads(vigil.manage("dumpdata", "monitors", "pings", "alerts", "auth.user"))
    for row in rows:
        for name in VOLATILE_FIELDS.get(row["model"], ()):
            row["fields"].pop(name, None)
    return list(rows)


def send_all(web: Process, requests: Iterable[Request]) -> Iterator[tuple[Request, Answer | OSError]]:
    def send(request: Request) -> tuple[Request, Answer | OSError]:
        try:
            return request, http_request(
                web.base_url, request.method, request.path, body=request.body, headers=request.headers
            )
        except OSError as error:
            return request, error

    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        yield from pool.map(send, requests)


def judge(answers: Iterable[tuple[Request, Answer | OSError]]) -> tuple[Counter[str], list[str]]:
    statuses: Counter[str] = Counter()
    wrong: list[str] = []
    for request, answer in answers:
        if isinstance(answer, OSError):
            statuses["no answer"] += 1
            wrong.append(f"no answer ({answer!r}) to {request.describe()}")
            continue
        statuses[str(answer.status)] += 1
        went_through = 200 <= answer.status < 300 and not request.may_succeed
        if answer.status >= 500 or went_through:
            wrong.append(f"{answer.status} {answer.text()[:300]!r} to {request.describe()}")
    return statuses, wrong


# Each pass fuzzes its own kind of database (a server of the test's own in the PostgreSQL
# pass): the SQLite pass already sends SQLite its share, with a seed of its own.
BACKENDS = [pytest.param("postgres", marks=pytest.mark.postgres)] if ON_POSTGRES else ["sqlite"]


@pytest.fixture(params=BACKENDS)
def served(request: pytest.FixtureRequest, vigil: Vigil) -> tuple[Vigil, Process, str]:
    """Vigil's gunicorn on a fresh database of the pass's kind, with one bootstrapped project."""
    # Private addresses refused, as in production: the channel URL checks are part of the test.
    if request.param == "postgres":
        postgres = request.getfixturevalue("postgres")
        vigil.configure(database_url=postgres.url(), WEBHOOKS_ALLOW_PRIVATE_IPS="false")
        api_key = request.getfixturevalue("api_key")
    else:
        vigil.configure(WEBHOOKS_ALLOW_PRIVATE_IPS="false")
        vigil.migrate()
        api_key = vigil.bootstrap()
    return vigil, vigil.start_web(workers=WEB_WORKERS), api_key


def test_generated_bad_requests_get_no_5xx_and_change_nothing(served: tuple[Vigil, Process, str]) -> None:
    vigil, web, api_key = served
    targets = seed_data(vigil, web, api_key)
    before = snapshot(vigil)
    kinds = Counter(row["model"] for row in before)
    for model in ("monitors.monitor", "pings.run", "pings.ping", "alerts.channel", "monitors.apikey"):
        assert kinds[model] >= 2, kinds
    assert kinds["alerts.maintenancewindow"] == 1

    run_seed = seed()
    started = time.monotonic()
    ping_statuses, ping_wrong = judge(
        send_all(web, generate_ping_requests(random.Random(run_seed), targets, PING_REQUESTS))
    )
    api_statuses, api_wrong = judge(
        send_all(web, generate_api_requests(random.Random(run_seed + 1), targets, API_REQUESTS))
    )
    elapsed = time.monotonic() - started
    print(f"pings: {dict(ping_statuses)}; API: {dict(api_statuses)}; {elapsed:.1f} s")

    wrong = ping_wrong + api_wrong
    assert not wrong, f"seed {run_seed}: {len(wrong)} wrong answers, e.g.\n" + "\n".join(wrong[:20])
    assert sum(ping_statuses.values()) == PING_REQUESTS
    assert sum(api_statuses.values()) == API_REQUESTS
    after = snapshot(vigil)
    assert after == before, f"seed {run_seed}: the stored data changed"
    assert "Internal Server Error" not in vigil.logs(), vigil.logs()[-3000:]
