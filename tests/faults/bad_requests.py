"""A seeded generator of bad HTTP requests against Vigil's ping endpoints and REST API.

Every request it makes is meant to change nothing, so that a snapshot of the database taken
before is equal to one taken after. That decides what it may send:

- Ping requests go either to monitors that do not exist (random uuids, random ping keys:
  anything goes, even a well-formed ping), or to real monitors with at least one defect the
  ping endpoint refuses before it stores anything: a bad method, action, rid, query metadata,
  envelope metadata, ping key or slug (a well-formed ping to a real monitor would rightly
  store a row). On top of that defect come random noise: bodies (binary, non-UTF-8, broken
  JSON, deep nesting, huge), headers and query parameters that decide nothing.
- API requests carry no key, a wrong one, a read-only key on writes, another project's key
  on this project's ids (and the other way round), ids out of range, unknown paths and
  methods, or a read-write key with a body that cannot pass validation (broken JSON, the
  wrong shape, or one field with a value no validator accepts). Reads are fine: they change
  nothing.

The same seed gives the same requests (`generate_ping_requests(random.Random(seed), ...)`).
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

PING_METHODS = ("GET", "HEAD", "POST", "PUT")
BODY_METHODS = ("POST", "PUT")
BAD_METHODS = ("DELETE", "PATCH", "TRACE", "PROPFIND", "FOO", "CONNECTX")
# Exit statuses and actions the ping endpoint refuses ("%C2%B2" is "²", "%D9%A3" Arabic-Indic 3).
BAD_ACTIONS = (
    "256", "-1", "-0", "999999999999999999999", "%C2%B2", "%D9%A3", "%EF%BC%91", "startt", "FAIL",
    "fail%00", "%00", "%0A", "log%0A", "1.5", "0x1", "+1", "%FF%FE", "%ED%A0%80", "x" * 300, "1%201",
)  # fmt: skip
VALID_ACTIONS = ("", "/start", "/fail", "/log", "/0", "/1", "/255")
BAD_RIDS = ("x", "%00", "123", "6f1e3c1a-8a44-4c39-9b55", "6f1e3c1a-8a44-4c39-9b55-1f1f5c9b7a10x", "%FF" * 10)
BAD_SLUGS = (
    "UPPER",
    "abc%0A",
    "abc%00",
    "a%20b",
    "%C3%A9t%C3%A9",
    "a.b",
    "x" * 101,
    "%0A",
    "a%2Fb",
    "%ED%A0%80",
)
BAD_META_QUERIES = (
    "meta.x=%00", "meta.x=a%00b", "meta.x%0A=1", "meta.=1", "meta.%00=1", "meta.a%20b=1",
    "meta.%C3%A9=1", "meta." + "k" * 101 + "=1",
)  # fmt: skip
BAD_ENVELOPES = (
    '{"meta": {"x": 1e400}}', '{"meta": {"x": -1e999}, "log": "done"}', '{"meta": {"x": "a\\u0000b"}}',
    '{"meta": {"x": "\\ud800"}}', '{"meta": {"\\ud800": 1}}', '{"meta": {"a\\u0000": 1}}',
    '{"meta": {"x\\n": 1}}', '{"meta": {"n": {"deep": 1}}}', '{"meta": [1, 2]}', '{"meta": "text"}',
    '{"log": 5}', '{"log": ["a"]}', '{"meta": {"x": null}}', '{"meta": {"": 1}}',
    '{"meta": {' + ", ".join(f'"k{i}": {i}' for i in range(101)) + "}}",
)  # fmt: skip
NOISE_QUERIES = (
    "x=1",
    "%00=%00",
    "a=%FF",
    "utm_source=" + "u" * 500,
    "q=%ED%A0%80",
    "&&&",
    "=",
    "a=1&a=2",
    "x=%0D%0A",
)
CONTENT_TYPES = (
    "application/json", "text/plain", "application/octet-stream", "multipart/form-data; boundary=zz",
    "multipart/form-data", "application/x-www-form-urlencoded", "application/json; charset=latin-1",
    "text/plain; charset=utf-16", "garbage/;;", "application/xml",
)  # fmt: skip


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str | bytes] = field(default_factory=dict)
    why: str = ""
    # A read: a 2xx answer is fine. For anything else a 2xx means a ping or a write went through.
    may_succeed: bool = False

    def describe(self) -> str:
        headers = {name: value[:100] for name, value in self.headers.items()}
        return f"{self.why}: {self.method} {self.path[:200]!r} headers={headers!r} body={self.body[:200]!r}"


@dataclass(frozen=True)
class Targets:
    """Real objects of the seeded database the requests aim at."""

    ping_uuids: list[str]
    ping_key: str
    status_key: str
    badge_key: str
    slugs: list[str]
    api_key: str
    read_only_key: str
    other_api_key: str
    monitor_ids: list[int]
    channel_ids: list[int]
    window_ids: list[int]
    key_ids: list[int]
    other_monitor_ids: list[int]
    other_channel_ids: list[int]


# --- pieces of noise ------------------------------------------------------------------------


def random_text(rng: random.Random, length: int) -> str:
    alphabet = "abcXYZ019 _-./?&=%\\\"'{}[]:,\n\t\x00\x01é€😀\u2028\ufeff"
    return "".join(rng.choice(alphabet) for _ in range(length))


def noise_body(rng: random.Random) -> bytes:
    choice = rng.randrange(14)
    if choice == 0:
        return b""
    if choice == 1:
        return rng.randbytes(rng.randrange(1, 4000))
    if choice == 2:
        return random_text(rng, rng.randrange(1, 500)).encode("latin-1", "replace")
    if choice == 3:
        return random_text(rng, rng.randrange(1, 500)).encode("utf-16")
    if choice == 4:
        return b'{"meta": {"a": 1}, "log": "x' + b"\x00" * rng.randrange(1, 50)
    if choice == 5:
        return b"[" * rng.choice((100, 10_000, 100_000))
    if choice == 6:
        return b'{"meta": ' + b"[" * 50_000
    if choice == 7:
        return b"\xff\xfe\xfd" + rng.randbytes(100)
    if choice == 8 and rng.random() < 0.05:
        return rng.randbytes(1024) * rng.randrange(200, 1500)  # 0.2 to 1.5 MB
    if choice == 9:
        return json.dumps({"meta": {"n": rng.randrange(100)}, "log": random_text(rng, 50)}).encode()
    if choice == 10:
        return b'{"meta": {"n": 1}, "log": "\\ud800\\u0000"}'
    if choice == 11:
        return b'{"meta": {"n": 1}'
    if choice == 12:
        return json.dumps({"other": [1, 2, {"x": None}]}).encode()
    return random_text(rng, rng.randrange(1, 2000)).encode("utf-8", "surrogatepass")


def noise_headers(rng: random.Random, body: bytes) -> dict[str, str | bytes]:
    headers: dict[str, str | bytes] = {}
    if body or rng.random() < 0.3:
        headers["Content-Type"] = rng.choice(CONTENT_TYPES)
    pool: list[tuple[str, Callable[[], str | bytes]]] = [
        ("User-Agent", lambda: rng.choice(["curl/8.0", "", "x" * 4000, "\u00e9t\u00e9", "a\x01b"])),
        (
            "X-Forwarded-For",
            lambda: rng.choice(["1.2.3.4", "garbage", "::1, 10.0.0.1", "[::1]:80", "1.2.3.4:99999"]),
        ),
        ("Accept", lambda: rng.choice(["*/*", "text/html", "application/xml", "garbage", ""])),
        ("Cookie", lambda: rng.choice(["sessionid=%00", "a=b; c", "csrftoken=" + "x" * 100])),
        ("Accept-Encoding", lambda: "gzip, br"),
        ("Content-Encoding", lambda: rng.choice(["gzip", "br", "identity"])),
        ("Origin", lambda: rng.choice(["http://evil.example", "null"])),
        ("X-Odd", lambda: b"\xff\xfe latin-1 bytes \xe9"),
        ("Authorization", lambda: rng.choice(["Bearer x", "Basic Zm9vOmJhcg==", "Bearer"])),
        ("Range", lambda: "bytes=0-1"),
    ]
    for name, value in rng.sample(pool, rng.randrange(0, 4)):
        headers[name] = value()
    return headers


def with_query(path: str, rng: random.Random, *parts: str) -> str:
    query = [*parts]
    if rng.random() < 0.3:
        query.append(rng.choice(NOISE_QUERIES))
    rng.shuffle(query)
    return f"{path}?{'&'.join(query)}" if query else path


def unknown_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def unknown_key(rng: random.Random) -> str:
    return "".join(
        rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") for _ in range(22)
    )


# --- ping requests -----------------------------------------------------------------------------


def generate_ping_requests(rng: random.Random, targets: Targets, count: int) -> Iterator[Request]:
    scenarios: list[Callable[[random.Random, Targets], Request]] = [
        _unknown_uuid,
        _unknown_uuid,
        _unknown_key,
        _bad_action,
        _bad_action,
        _bad_rid,
        _bad_query_meta,
        _bad_envelope,
        _bad_slug,
        _bad_ping_key,
        _bad_method,
        _bad_ping_path,
        _public_read,
    ]
    for _ in range(count):
        yield rng.choice(scenarios)(rng, targets)


def _finish(rng: random.Random, why: str, method: str, path: str, body: bytes | None = None) -> Request:
    if body is None:
        body = noise_body(rng) if method in BODY_METHODS or rng.random() < 0.1 else b""
    return Request(method, path, body, noise_headers(rng, body), why)


def _real_target(rng: random.Random, targets: Targets) -> str:
    if rng.random() < 0.5:
        return f"/ping/{rng.choice(targets.ping_uuids)}"
    return f"/ping/{targets.ping_key}/{rng.choice(targets.slugs)}"


def _unknown_uuid(rng: random.Random, targets: Targets) -> Request:
    path = f"/ping/{unknown_uuid(rng)}{rng.choice((*VALID_ACTIONS, '/' + rng.choice(BAD_ACTIONS)))}"
    query = (
        [rng.choice(["rid=" + unknown_uuid(rng), "meta.n=1", "create=1", "meta.x=%00"])]
        if rng.random() < 0.3
        else []
    )
    return _finish(rng, "unknown uuid", rng.choice(PING_METHODS), with_query(path, rng, *query))


def _unknown_key(rng: random.Random, targets: Targets) -> Request:
    slug = rng.choice([*targets.slugs, "new-job", rng.choice(BAD_SLUGS)])
    path = f"/ping/{unknown_key(rng)}/{slug}{rng.choice(VALID_ACTIONS)}"
    return _finish(rng, "unknown ping key", rng.choice(PING_METHODS), with_query(path, rng, "create=1"))


def _bad_action(rng: random.Random, targets: Targets) -> Request:
    path = f"{_real_target(rng, targets)}/{rng.choice(BAD_ACTIONS)}"
    return _finish(rng, "bad action", rng.choice(PING_METHODS), with_query(path, rng))


def _bad_rid(rng: random.Random, targets: Targets) -> Request:
    path = f"{_real_target(rng, targets)}{rng.choice(VALID_ACTIONS)}"
    return _finish(
        rng, "bad rid", rng.choice(PING_METHODS), with_query(path, rng, "rid=" + rng.choice(BAD_RIDS))
    )


def _bad_query_meta(rng: random.Random, targets: Targets) -> Request:
    path = f"{_real_target(rng, targets)}{rng.choice(VALID_ACTIONS)}"
    return _finish(
        rng, "bad query meta", rng.choice(PING_METHODS), with_query(path, rng, rng.choice(BAD_META_QUERIES))
    )


def _bad_envelope(rng: random.Random, targets: Targets) -> Request:
    path = f"{_real_target(rng, targets)}{rng.choice(VALID_ACTIONS)}"
    body = rng.choice(BAD_ENVELOPES).encode()
    return _finish(rng, "bad envelope", rng.choice(BODY_METHODS), with_query(path, rng), body)


def _bad_slug(rng: random.Random, targets: Targets) -> Request:
    path = f"/ping/{targets.ping_key}/{rng.choice(BAD_SLUGS)}{rng.choice(VALID_ACTIONS)}"
    return _finish(rng, "bad slug", rng.choice(PING_METHODS), with_query(path, rng, "create=1"))


def _bad_ping_key(rng: random.Random, targets: Targets) -> Request:
    key = targets.ping_key + rng.choice(["%00", "%01", "%0A", "%7F"])
    path = f"/ping/{key}/{rng.choice(targets.slugs)}{rng.choice(VALID_ACTIONS)}"
    return _finish(rng, "bad ping key", rng.choice(PING_METHODS), with_query(path, rng, "create=1"))


def _bad_method(rng: random.Random, targets: Targets) -> Request:
    path = f"{_real_target(rng, targets)}{rng.choice(VALID_ACTIONS)}"
    return _finish(rng, "bad method", rng.choice(BAD_METHODS), with_query(path, rng))


def _bad_ping_path(rng: random.Random, targets: Targets) -> Request:
    real = rng.choice(targets.ping_uuids)
    path = rng.choice(
        [
            "/ping", "/ping/", "/ping//", f"/ping/{real}/fail/extra", f"/ping/{real}/a/b/c",
            f"/ping/{targets.ping_key}", f"/ping/{targets.ping_key}/", "/ping/%00", "/ping/%FF%FE/x",
            f"/ping/{real[:-1]}", f"/ping/{real}x", "/ping/" + "a" * 3000, "/ping/../admin/",
            f"/ping/{quote(real.upper())}%00", "/ping/%ZZ",
            f"/ping/{targets.ping_key}/{targets.slugs[0]}/fail/x",
        ]
    )  # fmt: skip
    return _finish(rng, "bad path", rng.choice(PING_METHODS), with_query(path, rng))


def _public_read(rng: random.Random, targets: Targets) -> Request:
    """Status pages, badges and metrics with unknown or malformed keys, odd tags and methods.

    The real keys only come with tags no monitor carries, so that the answer never depends on
    the seeded monitors' states (a down monitor makes the status page answer 503, rightly).
    """
    key = rng.choice([unknown_key(rng), "%00", "a%00b", "%ED%A0%80", "x" * 300, "%0A"])
    odd_tag = rng.choice(["tag=%00", "tag=%ED%A0%80", "tag=" + "t" * 500, "tag=no-such-tag", "tag=%0A"])
    path = rng.choice(
        [
            f"/status/{key}/", f"/status/{key}/?{odd_tag}", f"/status/{targets.status_key}/?{odd_tag}",
            f"/badge/{key}.svg", f"/badge/{key}/{rng.choice(targets.slugs)}.svg",
            f"/badge/{targets.badge_key}.svg?{odd_tag}",
            f"/badge/{targets.badge_key}/{rng.choice(BAD_SLUGS)}.svg",
            f"/metrics/{key}", f"/metrics/{targets.status_key}?{odd_tag}", "/status/",
        ]
    )  # fmt: skip
    method = rng.choice(["GET", "GET", "HEAD", "POST", "DELETE"])
    body = noise_body(rng) if method in ("POST", "DELETE") else b""
    return Request(
        method, path, body, noise_headers(rng, body), "public read", may_succeed=method in ("GET", "HEAD")
    )


# --- API requests --------------------------------------------------------------------------------

COLLECTIONS = ("monitors", "channels", "maintenance", "keys", "incidents")
OUT_OF_RANGE_IDS = (
    "0",
    "-1",
    str(2**63),
    str(2**64 + 1),
    "9" * 30,
    "abc",
    "%00",
    "1e3",
    "0x1",
    "%ED%A0%80",
    "null",
)
BAD_API_PATHS = (
    "/api/v1/nope/", "/api/v1/monitors/1/nope/", "/api/v1/%00/", "/api/v1/monitors/%00/runs/",
    "/api/v1/monitors//", "/api/v1/" + "x/" * 500, "/api/v1/schema/%00/", "/api/v1/project/extra/",
    "/api/v1/monitors", "/api/v2/monitors/", "/api/v1/monitors/1/runs/extra/",
)  # fmt: skip
INVALID_MONITOR_FIELDS: tuple[dict[str, object], ...] = (
    {"grace_seconds": -1}, {"grace_seconds": "soon"}, {"grace_seconds": 10**20}, {"failure_threshold": 0},
    {"recovery_threshold": 1001}, {"max_duration_seconds": 0}, {"schedule": {"kind": "nope"}},
    {"schedule": {"kind": "interval", "seconds": 0}}, {"schedule": {"kind": "interval", "seconds": 1e400}},
    {"schedule": {"kind": "cron", "expression": "61 * * * *"}},
    {"schedule": {"kind": "cron", "expression": "0 3 * * *", "timezone": "Mars/Olympus"}},
    {"schedule": {"kind": "cron", "expression": "0 3 * * *", "timezone": "\ud800"}},
    {"schedule": "daily"}, {"slug": "UPPER"}, {"slug": "a\nb"}, {"slug": "x" * 101}, {"slug": "a\x00b"},
    {"name": "\x00"}, {"name": "x" * 201}, {"name": "\udfff"}, {"description": "a\x00b"},
    {"tags": "notalist"}, {"tags": ["x" * 51]}, {"tags": ["\x00"]}, {"tags": [{"a": 1}]},
    {"rules": [{"field": "x", "op": "zz", "value": 1}]}, {"rules": "none"},
    {"rules": [{"field": "\x00", "op": "eq", "value": 1}]},
    {"rules": [{"field": "x", "op": "eq", "value": [1]}]},
    {"channels": [99999999]}, {"channels": [2**70]}, {"channels": "all"}, {"allow_overlap": "perhaps"},
)  # fmt: skip
INVALID_CHANNEL_FIELDS: tuple[dict[str, object], ...] = (
    {"kind": "nope"}, {"kind": "webhook", "config": {"url": "http://exa mple.com/"}},
    {"kind": "webhook", "config": {"url": "http://[2002:7f00:1::]/"}},
    {"kind": "slack", "config": {"url": "http://127.0.0.1/hook"}},
    {"kind": "webhook", "config": {"url": "http://169.254.169.254/latest"}},
    {"kind": "webhook", "config": {"url": "ftp://example.com/"}}, {"kind": "webhook", "config": {"url": "http://\x00/"}},
    {"kind": "webhook", "config": {"url": "http://exa\ud800mple.com/"}}, {"kind": "webhook", "config": {}},
    {"kind": "email", "config": {"to": "notalist"}}, {"kind": "email", "config": {"to": ["not an address"]}},
    {"kind": "email", "config": {"to": []}}, {"kind": "apprise", "config": {"url": "json://x"}},
    {"reminder_hours": 0}, {"monitors": [99999999]}, {"monitors": [2**70]}, {"name": "\x00"},
    {"kind": "webhook", "config": "http://example.com/"},
)  # fmt: skip
INVALID_WINDOW_FIELDS: tuple[dict[str, object], ...] = (
    {"starts_at": "garbage"}, {"ends_at": "2001-01-01T00:00:00Z", "starts_at": "2030-01-01T00:00:00Z"},
    {"cron_expression": "bad cron", "duration_seconds": 60}, {"duration_seconds": 0},
    {"cron_expression": "0 3 * * *", "duration_seconds": 60, "timezone": "Nowhere/Else"},
    {"cron_expression": "0 3 * * *", "duration_seconds": 60, "starts_at": "2030-01-01T00:00:00Z"},
    {"name": "\x00"}, {"duration_seconds": 10**12},
)  # fmt: skip
INVALID_KEY_BODIES: tuple[dict[str, object], ...] = (
    {"name": ""},
    {"name": "x" * 101},
    {"name": "\x00"},
    {},
    {"name": ["a"]},
    {"name": None},
    {"name": "\ud800"},
)
INVALID_PAUSE_BODIES: tuple[dict[str, object], ...] = (
    {"until": "garbage"}, {"until": "2001-01-01T00:00:00Z"}, {"until": "2030-01-01T00:00:00"}, {"until": 5},
    {"until": "\x00"},
)  # fmt: skip
VALID_MONITOR_FIELDS: tuple[dict[str, object], ...] = (
    {"name": "Valid name"}, {"slug": "fine-slug"}, {"grace_seconds": 60}, {"tags": ["a"]},
    {"schedule": {"kind": "interval", "seconds": 60}}, {"description": "ok"},
)  # fmt: skip


def json_body(payload: object) -> bytes:
    # ensure_ascii: lone surrogates travel as \\ud800 escapes, as a real client's JSON would carry them.
    return json.dumps(payload, ensure_ascii=True).encode()


def broken_body(rng: random.Random) -> bytes:
    return rng.choice(
        [
            b"{", b'{"name": ', b"[" * 100_000, b'{"a":' * 50_000, b"\xff\xfe\x00{", b"null", b"[]", b"5",
            b'"text"', b"{'single': 'quotes'}", b'{"name": NaN}', b'{"name": Infinity}', b"\x00" * 100,
            rng.randbytes(rng.randrange(1, 3000)), b"name=x&kind=webhook", b"[" * 33 + b"]" * 33,
        ]
    )  # fmt: skip


def generate_api_requests(rng: random.Random, targets: Targets, count: int) -> Iterator[Request]:
    scenarios: list[Callable[[random.Random, Targets], Request]] = [
        _no_or_bad_key,
        _read_only_write,
        _other_projects_ids,
        _other_projects_ids,
        _ids_out_of_range,
        _bad_api_method_or_path,
        _invalid_write,
        _invalid_write,
        _invalid_write,
        _odd_read,
    ]
    for _ in range(count):
        yield rng.choice(scenarios)(rng, targets)


def _api(rng: random.Random, why: str, method: str, path: str, key: str | None, body: bytes = b"") -> Request:
    headers = noise_headers(rng, body)
    headers.pop("Authorization", None)
    if body:
        headers["Content-Type"] = "application/json" if rng.random() < 0.85 else rng.choice(CONTENT_TYPES)
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return Request(method, path, body, headers, why, may_succeed=method in ("GET", "HEAD", "OPTIONS"))


def _any_object_path(rng: random.Random, targets: Targets) -> str:
    choices = [
        f"/api/v1/monitors/{rng.choice(targets.monitor_ids)}/",
        f"/api/v1/monitors/{rng.choice(targets.monitor_ids)}/pause/",
        f"/api/v1/monitors/{rng.choice(targets.monitor_ids)}/resume/",
        f"/api/v1/monitors/{rng.choice(targets.monitor_ids)}/runs/",
        f"/api/v1/channels/{rng.choice(targets.channel_ids)}/",
        f"/api/v1/channels/{rng.choice(targets.channel_ids)}/test/",
        f"/api/v1/channels/{rng.choice(targets.channel_ids)}/rotate-secret/",
        f"/api/v1/maintenance/{rng.choice(targets.window_ids)}/",
        f"/api/v1/keys/{rng.choice(targets.key_ids)}/",
    ]
    return rng.choice(choices)


def _any_body(rng: random.Random) -> bytes:
    if rng.random() < 0.5:
        return json_body(rng.choice(VALID_MONITOR_FIELDS))
    return broken_body(rng) if rng.random() < 0.5 else noise_body(rng)


def _no_or_bad_key(rng: random.Random, targets: Targets) -> Request:
    path = rng.choice(
        [_any_object_path(rng, targets), *(f"/api/v1/{name}/" for name in COLLECTIONS), "/api/v1/project/"]
    )
    method = rng.choice(["GET", "POST", "PATCH", "DELETE", "PUT"])
    request = _api(rng, "no or bad key", method, path, None, _any_body(rng) if method != "GET" else b"")
    request.headers.pop("Authorization", None)
    bad = rng.choice(
        [None, "Bearer", "Bearer ", "Bearer a b", "Basic Zm9vOmJhcg==", "Bearer vgl_deadbeef_x", "Token abc",
         f"Bearer {targets.api_key}x", f"Bearer {targets.api_key[:-1]}", "Bearer " + "k" * 5000,
         b"Bearer \xff\xfe", f"bearer  {unknown_key(rng)}"]
    )  # fmt: skip
    if bad is not None:
        request.headers["Authorization"] = bad
    return request


def _read_only_write(rng: random.Random, targets: Targets) -> Request:
    path = rng.choice([_any_object_path(rng, targets), *(f"/api/v1/{name}/" for name in COLLECTIONS)])
    method = rng.choice(["POST", "PATCH", "DELETE"])
    return _api(rng, "read-only key writes", method, path, targets.read_only_key, _any_body(rng))


def _other_projects_ids(rng: random.Random, targets: Targets) -> Request:
    if rng.random() < 0.5:
        key, path = targets.other_api_key, _any_object_path(rng, targets)
    else:
        key = targets.api_key
        path = rng.choice(
            [
                f"/api/v1/monitors/{rng.choice(targets.other_monitor_ids)}/",
                f"/api/v1/monitors/{rng.choice(targets.other_monitor_ids)}/pause/",
                f"/api/v1/monitors/{rng.choice(targets.other_monitor_ids)}/resume/",
                f"/api/v1/monitors/{rng.choice(targets.other_monitor_ids)}/pings/",
                f"/api/v1/channels/{rng.choice(targets.other_channel_ids)}/",
                f"/api/v1/channels/{rng.choice(targets.other_channel_ids)}/rotate-secret/",
                f"/api/v1/channels/{rng.choice(targets.other_channel_ids)}/test/",
            ]
        )
    method = rng.choice(["GET", "POST", "PATCH", "DELETE"])
    body = json_body(rng.choice(VALID_MONITOR_FIELDS)) if method in ("POST", "PATCH") else b""
    return _api(rng, "another project's ids", method, path, key, body)


def _ids_out_of_range(rng: random.Random, targets: Targets) -> Request:
    collection = rng.choice(COLLECTIONS)
    suffix = (
        rng.choice(["", "runs/", "pings/", "pause/", "test/"])
        if collection in ("monitors", "channels")
        else ""
    )
    path = f"/api/v1/{collection}/{rng.choice(OUT_OF_RANGE_IDS)}/{suffix}"
    method = rng.choice(["GET", "POST", "PATCH", "DELETE"])
    body = json_body(rng.choice(VALID_MONITOR_FIELDS)) if method in ("POST", "PATCH") else b""
    query = rng.choice(["", f"?monitor={rng.choice(OUT_OF_RANGE_IDS)}"])
    return _api(rng, "id out of range", method, path + query, targets.api_key, body)


def _bad_api_method_or_path(rng: random.Random, targets: Targets) -> Request:
    if rng.random() < 0.5:
        path = rng.choice(BAD_API_PATHS)
        method = rng.choice(["GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS"])
    else:
        path = rng.choice(
            [*(f"/api/v1/{name}/" for name in COLLECTIONS), "/api/v1/project/", "/api/v1/metrics/",
             "/api/v1/docs/", "/api/v1/redoc/", "/api/v1/schema/", _any_object_path(rng, targets)]
        )  # fmt: skip
        method = rng.choice(["PUT", "TRACE", "FOO", "CONNECTX", "PROPFIND"])
        if path in ("/api/v1/project/", "/api/v1/metrics/") or "/runs/" in path:
            method = rng.choice(["POST", "DELETE", "PUT"])
        if path in (f"/api/v1/{name}/" for name in COLLECTIONS):
            method = rng.choice(["DELETE", "PUT", "PATCH"])
    body = _any_body(rng) if method not in ("GET", "OPTIONS") else b""
    return _api(
        rng, "bad method or path", method, path, rng.choice([targets.api_key, targets.read_only_key]), body
    )


def _invalid_write(rng: random.Random, targets: Targets) -> Request:
    """A read-write key on this project's own endpoints, with a body no validator passes."""
    target = rng.randrange(8)
    base: dict[str, object]
    if target == 0:
        method, path, defects, base = "POST", "/api/v1/monitors/", INVALID_MONITOR_FIELDS, {"name": "fuzzed"}
    elif target == 1:
        method, path = "PATCH", f"/api/v1/monitors/{rng.choice(targets.monitor_ids)}/"
        defects, base = INVALID_MONITOR_FIELDS, {}
    elif target == 2:
        method, path, defects = "POST", "/api/v1/channels/", INVALID_CHANNEL_FIELDS
        base = {"kind": "webhook", "name": "fuzzed", "config": {"url": "http://93.184.216.34/hook"}}
    elif target == 3:
        method, path = "PATCH", f"/api/v1/channels/{rng.choice(targets.channel_ids)}/"
        defects, base = INVALID_CHANNEL_FIELDS, {}
    elif target == 4:
        method, path, defects = "POST", "/api/v1/maintenance/", INVALID_WINDOW_FIELDS
        base = {"name": "fuzzed", "starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-02T00:00:00Z"}
    elif target == 5:
        method, path = "PATCH", f"/api/v1/maintenance/{rng.choice(targets.window_ids)}/"
        defects, base = INVALID_WINDOW_FIELDS, {}
    elif target == 6:
        method, path, defects, base = "POST", "/api/v1/keys/", INVALID_KEY_BODIES, {}
    else:
        method, path = "POST", f"/api/v1/monitors/{rng.choice(targets.monitor_ids)}/pause/"
        defects, base = INVALID_PAUSE_BODIES, {}
    if rng.random() < 0.25:
        request = _api(rng, "broken body", method, path, targets.api_key, broken_body(rng))
        # As JSON: a form body could be a valid one (`name=x` creates a key).
        request.headers["Content-Type"] = "application/json"
        return request
    payload = {**base, **rng.choice(defects)}
    if target in (0, 1) and rng.random() < 0.3:
        payload = {**rng.choice(VALID_MONITOR_FIELDS), **payload}  # valid fields never rescue an invalid one
    request = _api(rng, "invalid body", method, path, targets.api_key, json_body(payload))
    request.headers["Content-Type"] = "application/json"
    return request


def _odd_read(rng: random.Random, targets: Targets) -> Request:
    path = rng.choice(
        [*(f"/api/v1/{name}/" for name in COLLECTIONS), "/api/v1/project/", "/api/v1/metrics/",
         f"/api/v1/monitors/{rng.choice(targets.monitor_ids)}/runs/",
         f"/api/v1/monitors/{rng.choice(targets.monitor_ids)}/pings/",
         f"/api/v1/monitors/{rng.choice(targets.monitor_ids)}/stats/", "/api/v1/runs/"]
    )  # fmt: skip
    query = rng.choice(
        ["page=0", "page=-1", "page=abc", "page=99999999999999999999", "page=%00", "tag=%00", "tag=%ED%A0%80",
         "status=bogus", "status=%00", "q=" + "q" * 5000, "q=%00", "format=xml", "format=api", "format=%00",
         "monitor=abc", "monitor=%00", f"monitor={2**64}", "open=maybe", "open=%00", "page_size=100000",
         "tag=" + "t" * 60, "ordering=-id", "%00=%00", "since=%00", "since=garbage", "since=99999999999999d",
         "since=-5m", "since=2001-02-30T00:00:00Z", "status=%ED%A0%80"]
    )  # fmt: skip
    return _api(
        rng, "odd read", "GET", f"{path}?{query}", rng.choice([targets.api_key, targets.read_only_key])
    )
