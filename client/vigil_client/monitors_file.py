"""Monitors as code: `vigil apply monitors.toml`.

Only what the file declares is managed: a field left out of a monitor's table keeps
whatever value the server has (so removing `description` does not clear it).

    [[monitor]]
    slug = "nightly-backup"
    schedule = "0 3 * * *"
    timezone = "Europe/Berlin"
    grace = "30m"
    channels = ["ops-slack"]
    command = "/usr/local/bin/backup --full"   # for `vigil agent` (Run now); not sent to Vigil

    [[monitor.rule]]
    field = "duration"              # seconds or "1h"; sent as duration_ms
    op = ">"                        # or gt; < <= >= == != are lt lte gte eq ne
    value = 3600
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from vigil_client.api import ApiClient, JsonDict
from vigil_client.schedules import format_duration_short, parse_duration, schedule_payload

SLUG_RE = re.compile(r"[a-z0-9_-]{1,100}")
MONITOR_KEYS = {
    "slug", "name", "schedule", "interval", "timezone", "grace", "max_duration", "description",
    "tags", "failure_threshold", "recovery_threshold", "allow_overlap", "channels", "rule", "command",
}  # fmt: skip
RULE_KEYS = {"field", "op", "value"}
# The file may write comparisons as symbols; the API takes these names (which work here too).
RULE_OPS = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte", "==": "eq", "!=": "ne"}
Action = Literal["create", "update", "unchanged", "delete"]


class MonitorsFileError(ValueError):
    pass


@dataclass
class MonitorSpec:
    slug: str
    fields: JsonDict  # API field name -> desired value; channels are resolved later.
    channel_names: list[str] | None = None
    # What `vigil agent` runs for a Run now request: an argv, or one string for `sh -c`.
    command: list[str] | None = None


@dataclass
class Change:
    slug: str
    action: Action
    diffs: list[tuple[str, str, str]] = field(default_factory=list)  # (field, old, new)
    payload: JsonDict = field(default_factory=dict)
    monitor_id: Any = None


# ---- reading the file ---------------------------------------------------------------------


def load_monitors_file(path: str) -> list[MonitorSpec]:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise MonitorsFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MonitorsFileError(f"{path}: not UTF-8 text ({exc})") from exc
    return parse_monitors(text, path)


def _toml_error(exc: tomllib.TOMLDecodeError, text: str, source: str) -> MonitorsFileError:
    """tomllib's message plus the offending line and a caret under the column."""
    message = str(exc)
    m = re.search(r"\(at line (\d+), column (\d+)\)", message)
    if not m:
        return MonitorsFileError(f"{source}: invalid TOML: {message}")
    lineno, column = int(m.group(1)), int(m.group(2))
    lines = text.splitlines()
    context = ""
    if 1 <= lineno <= len(lines):
        context = f"\n  {lineno:>4} | {lines[lineno - 1]}\n       | {' ' * (column - 1)}^"
    reason = message[: m.start()].strip()
    return MonitorsFileError(f"{source}:{lineno}:{column}: invalid TOML: {reason}{context}")


def parse_monitors(text: str, source: str = "<monitors file>") -> list[MonitorSpec]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(exc, text, source) from exc
    unknown = set(data) - {"monitor"}
    if unknown:
        hint = " (the table is [[monitor]], singular)" if "monitors" in unknown else ""
        raise MonitorsFileError(f"{source}: unknown top-level key(s) {', '.join(sorted(unknown))}{hint}")
    tables = data.get("monitor", [])
    if not isinstance(tables, list):
        raise MonitorsFileError(f"{source}: `monitor` must be an array of tables: write [[monitor]]")
    specs: list[MonitorSpec] = []
    seen: dict[str, int] = {}
    for index, table in enumerate(tables, 1):
        where = f"{source}: monitor #{index}"
        if isinstance(table, dict) and isinstance(table.get("slug"), str):
            where += f" ({table['slug']})"
        try:
            spec = _parse_monitor(table)
        except (ValueError, TypeError) as exc:
            raise MonitorsFileError(f"{where}: {exc}") from exc
        if spec.slug in seen:
            raise MonitorsFileError(f"{where}: slug {spec.slug!r} already used by monitor #{seen[spec.slug]}")
        seen[spec.slug] = index
        specs.append(spec)
    return specs


def _expect(value: Any, kind: type | tuple[type, ...], what: str, example: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{what}: expected {example}, got {value!r}")
    return value


def _parse_monitor(table: Any) -> MonitorSpec:
    if not isinstance(table, dict):
        raise ValueError("expected a table")
    unknown = set(table) - MONITOR_KEYS
    if unknown:
        raise ValueError(
            f"unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(MONITOR_KEYS))}"
        )
    if "slug" not in table:
        raise ValueError("missing `slug`")
    slug = _expect(table["slug"], str, "slug", "a string")
    if not SLUG_RE.fullmatch(slug):
        raise ValueError(f"slug {slug!r}: use 1-100 of a-z, 0-9, _ and -")
    fields: JsonDict = {}
    if "name" in table:
        fields["name"] = _expect(table["name"], str, "name", "a string")
    schedule = table.get("schedule")
    if schedule is not None:
        _expect(schedule, str, "schedule", 'a cron expression such as "0 3 * * *"')
    interval = table.get("interval")
    timezone = table.get("timezone")
    if timezone is not None:
        _expect(timezone, str, "timezone", 'a zone name such as "Europe/Berlin"')
    sched = schedule_payload(schedule=schedule, interval=interval, timezone=timezone)
    if sched is not None:
        fields["schedule"] = sched
    if "grace" in table:
        fields["grace_seconds"] = parse_duration(table["grace"], "grace")
    if "max_duration" in table:
        fields["max_duration_seconds"] = parse_duration(table["max_duration"], "max_duration")
    if "description" in table:
        fields["description"] = _expect(table["description"], str, "description", "a string")
    if "tags" in table:
        tags = _expect(table["tags"], list, "tags", 'a list of strings like ["db", "nightly"]')
        for tag in tags:
            _expect(tag, str, "tags", "a list of strings")
        fields["tags"] = list(tags)
    for key in ("failure_threshold", "recovery_threshold"):
        if key in table:
            value = _expect(table[key], int, key, "a whole number")
            if value < 1:
                raise ValueError(f"{key}: must be at least 1")
            fields[key] = value
    if "allow_overlap" in table:
        fields["allow_overlap"] = _expect(table["allow_overlap"], bool, "allow_overlap", "true or false")
    if "rule" in table:
        rules = _expect(table["rule"], list, "rule", "[[monitor.rule]] tables")
        fields["rules"] = [_parse_rule(rule, n) for n, rule in enumerate(rules, 1)]
    channel_names = None
    if "channels" in table:
        channel_names = _expect(
            table["channels"], list, "channels", 'a list of channel names like ["ops-slack"]'
        )
        for name in channel_names:
            _expect(name, str, "channels", "a list of channel names")
    return MonitorSpec(slug, fields, channel_names, _parse_command(table.get("command")))


def _parse_command(value: Any) -> list[str] | None:
    """`command = "sh words"` runs through /bin/sh -c; `command = ["prog", "arg"]` runs as is."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip():
        return ["/bin/sh", "-c", value]
    if isinstance(value, list) and value and all(isinstance(item, str) and item for item in value):
        return list(value)
    raise ValueError(f'command: expected a string or a list of strings like ["prog", "arg"], got {value!r}')


def _parse_rule(rule: Any, n: int) -> JsonDict:
    if not isinstance(rule, dict):
        raise ValueError(f"rule #{n}: expected a [[monitor.rule]] table")
    missing = RULE_KEYS - set(rule)
    unknown = set(rule) - RULE_KEYS
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing {', '.join(sorted(missing))}")
        if unknown:
            problems.append(f"unknown {', '.join(sorted(unknown))}")
        raise ValueError(f"rule #{n}: {'; '.join(problems)} (a rule has field, op and value)")
    field_name = _expect(rule["field"], str, f"rule #{n} field", "a string")
    op = _expect(rule["op"], str, f"rule #{n} op", "a string")
    value = rule["value"]
    # The server knows only its own operator names and durations in milliseconds.
    api_op = RULE_OPS.get(op.strip(), op.strip())
    if api_op not in RULE_OPS.values():
        known = ", ".join([*RULE_OPS, *RULE_OPS.values()])
        raise ValueError(f"rule #{n} op: unknown operator {op!r}; use one of {known}")
    if field_name == "duration":
        field_name, value = "duration_ms", parse_duration(value, f"rule #{n} duration value") * 1000
    return {"field": field_name, "op": api_op, "value": value}


# ---- planning ------------------------------------------------------------------------------


def _norm_schedule(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if value.get("kind") == "cron":
        return ("cron", " ".join(str(value.get("expression", "")).split()), value.get("timezone") or "UTC")
    if value.get("kind") == "interval":
        return ("interval", value.get("seconds"))
    return value


def show_schedule(value: Any) -> str:
    norm = _norm_schedule(value)
    if isinstance(norm, tuple) and norm[0] == "cron":
        return f"cron {norm[1]!r} {norm[2]}"
    if isinstance(norm, tuple) and norm[0] == "interval" and isinstance(norm[1], int):
        return f"every {format_duration_short(norm[1])}"
    return _show(value)


def _show(value: Any) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False)


def same_field(key: str, old: Any, new: Any) -> bool:
    if key == "schedule":
        return bool(_norm_schedule(old) == _norm_schedule(new))
    if key == "tags" and isinstance(old, list) and isinstance(new, list):
        return sorted(map(str, old)) == sorted(map(str, new))
    return bool(old == new)


def resolve_channels(specs: Sequence[MonitorSpec], channels: Sequence[JsonDict]) -> dict[str, Any]:
    """Channel name -> id for every name the file uses; unknown or ambiguous names fail."""
    by_name: dict[str, list[Any]] = {}
    for channel in channels:
        by_name.setdefault(str(channel.get("name")), []).append(channel.get("id"))
    resolved: dict[str, Any] = {}
    problems = []
    for spec in specs:
        for name in spec.channel_names or []:
            ids = by_name.get(name, [])
            if len(ids) == 1:
                resolved[name] = ids[0]
            elif not ids:
                problems.append(f"{spec.slug}: no channel named {name!r}")
            else:
                problems.append(f"{spec.slug}: {len(ids)} channels are named {name!r}; rename one")
    if problems:
        known = ", ".join(sorted(by_name)) or "none"
        raise MonitorsFileError("; ".join(sorted(set(problems))) + f" (channels: {known})")
    return resolved


def plan_changes(
    specs: Sequence[MonitorSpec],
    existing: Sequence[JsonDict],
    channels: Sequence[JsonDict],
    *,
    prune: bool = False,
) -> list[Change]:
    channel_ids = resolve_channels(specs, channels)
    names_by_id = {c.get("id"): str(c.get("name")) for c in channels}
    by_slug = {m.get("slug"): m for m in existing}
    changes: list[Change] = []
    for spec in specs:
        desired = dict(spec.fields)
        if spec.channel_names is not None:
            desired["channels"] = [channel_ids[name] for name in spec.channel_names]
        current = by_slug.get(spec.slug)
        if current is None:
            payload = {"slug": spec.slug, "name": spec.slug, **desired}
            changes.append(Change(spec.slug, "create", payload=payload))
            continue
        change = Change(spec.slug, "unchanged", monitor_id=current.get("id"))
        for key, new in desired.items():
            old = current.get(key)
            if key == "channels":
                if set(old or []) == set(new):
                    continue
                shown_old = _show(sorted(names_by_id.get(i, str(i)) for i in old or []))
                shown_new = _show(sorted(spec.channel_names or []))
            elif same_field(key, old, new):
                continue
            elif key == "schedule":
                shown_old, shown_new = show_schedule(old), show_schedule(new)
            else:
                shown_old, shown_new = _show(old), _show(new)
            change.diffs.append((key, shown_old, shown_new))
            change.payload[key] = new
        if change.payload:
            change.action = "update"
        changes.append(change)
    if prune:
        declared = {spec.slug for spec in specs}
        for monitor in sorted(existing, key=lambda m: str(m.get("slug"))):
            if monitor.get("slug") not in declared:
                changes.append(Change(str(monitor.get("slug")), "delete", monitor_id=monitor.get("id")))
    return changes


def execute(client: ApiClient, changes: Sequence[Change]) -> None:
    for change in changes:
        if change.action == "create":
            client.create_monitor(change.payload)
        elif change.action == "update":
            client.update_monitor(change.monitor_id, change.payload)
        elif change.action == "delete":
            client.delete_monitor(change.monitor_id)


_VERBS: dict[Action, tuple[str, str]] = {
    "create": ("created", "would be created"),
    "update": ("updated", "would be updated"),
    "unchanged": ("unchanged", "unchanged"),
    "delete": ("deleted", "would be deleted"),
}
_MARKS: dict[Action, str] = {"create": "+", "update": "~", "unchanged": "=", "delete": "-"}


def format_change(change: Change, *, dry_run: bool) -> str:
    """`~ slug: updated` and one `    field: old -> new` line per difference."""
    verb = _VERBS[change.action][1 if dry_run else 0]
    lines = [f"{_MARKS[change.action]} {change.slug}: {verb}"]
    lines += [f"    {key}: {old} -> {new}" for key, old, new in change.diffs]
    return "\n".join(lines) + "\n"


def format_summary(changes: Sequence[Change], *, dry_run: bool) -> str:
    counts = {action: sum(1 for c in changes if c.action == action) for action in _VERBS}
    parts = [f"{n} {_VERBS[action][1 if dry_run else 0]}" for action, n in counts.items() if n]
    return f"{'dry run: ' if dry_run else ''}{', '.join(parts) or 'nothing to do'}\n"


def format_report(changes: Sequence[Change], *, dry_run: bool) -> str:
    return "".join(format_change(c, dry_run=dry_run) for c in changes) + format_summary(
        changes, dry_run=dry_run
    )
