"""The `vigil` command: run, ping, discover, status, history, last-failure, stats, apply, celery."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vigil_client import __version__, agent, beat, celery, crontab, monitors_file, runner, tables
from vigil_client.api import ApiClient, ApiError, JsonDict
from vigil_client.pings import (
    ConfigError,
    MetaValue,
    OnceWarner,
    PingTarget,
    parse_kind,
    parse_meta_pairs,
    send_ping,
)
from vigil_client.schedules import parse_duration
from vigil_client.transport import Budget, Transport

DEFAULT_TIMEOUT = 30.0
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad or missing settings: printed as one line, exit status 2."""


# ---- shared option handling -----------------------------------------------------------------


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def _timeout(args: argparse.Namespace) -> float:
    raw = args.timeout if args.timeout is not None else _env("VIGIL_TIMEOUT")
    if raw is None:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"--timeout/VIGIL_TIMEOUT: expected seconds, got {raw!r}") from None
    if value < 0:
        raise UsageError("--timeout/VIGIL_TIMEOUT: must not be negative")
    return value


def _server(args: argparse.Namespace) -> str | None:
    return args.server or _env("VIGIL_SERVER")


def _meta(args: argparse.Namespace) -> dict[str, MetaValue]:
    try:
        return parse_meta_pairs(args.meta or [])
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _ping_target(args: argparse.Namespace) -> PingTarget:
    if args.url and args.slug:
        raise ConfigError("give --url or --slug, not both")
    if args.url:
        return PingTarget.from_url(args.url)
    if args.slug:
        ping_key = args.ping_key or _env("VIGIL_PING_KEY")
        return PingTarget.from_slug(_server(args), ping_key, args.slug, create=args.create)
    raise ConfigError("no monitor given: use --url <ping url> or --slug <slug>")


def _api_client(args: argparse.Namespace, budget: Budget | None = None) -> ApiClient:
    server = _server(args)
    api_key = args.api_key or _env("VIGIL_API_KEY")
    missing = [
        what
        for what, value in (("VIGIL_SERVER/--server", server), ("VIGIL_API_KEY/--api-key", api_key))
        if not value
    ]
    if missing:
        raise UsageError(f"needs {' and '.join(missing)}")
    assert server is not None
    assert api_key is not None
    return ApiClient(server, api_key, Transport(budget or Budget(_timeout(args))))


def _err(message: str) -> None:
    sys.stderr.write(f"vigil: {message}\n")
    sys.stderr.flush()


# ---- run ------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise UsageError("run: no command given (vigil run --url <ping url> -- <command> [args])")
    meta = _meta(args)
    budget = Budget(_timeout(args))
    warn = OnceWarner()
    target: PingTarget | None
    try:
        target = _ping_target(args)
    except ConfigError as exc:
        # Still run the job: a monitoring mistake must not cost the job itself.
        warn(f"{exc}; running the command unmonitored")
        target = None
    argv = runner.shell_argv(command) if args.shell else command
    rid = args.rid
    if rid is not None:
        try:
            rid = str(uuid.UUID(rid))
        except ValueError:
            warn(f"--rid {rid!r} is not a uuid; the run gets a fresh one")
            rid = None
    return runner.run_monitored(target, argv, budget=budget, warn=warn, rid=rid, meta=meta or None)


# ---- ping -----------------------------------------------------------------------------------


def cmd_ping(args: argparse.Namespace) -> int:
    try:
        kind = parse_kind(args.kind)
    except ValueError as exc:
        raise UsageError(f"ping: {exc}") from None
    if args.data is not None and args.data_file is not None:
        raise UsageError("ping: give --data or --data-file, not both")
    body: bytes | None = None
    if args.data is not None:
        body = args.data.encode()
    elif args.data_file == "-":
        body = sys.stdin.buffer.read()
    elif args.data_file is not None:
        try:
            body = Path(args.data_file).read_bytes()
        except OSError as exc:
            raise UsageError(f"ping: cannot read {args.data_file}: {exc.strerror or exc}") from None
    meta = _meta(args)
    try:
        target = _ping_target(args)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    transport = Transport(Budget(_timeout(args)))
    outcome = send_ping(transport, target, kind, rid=args.rid, log=body, meta=meta or None)
    if not outcome.ok:
        _err(outcome.message)
        return 1
    return 0


# ---- discover -------------------------------------------------------------------------------


def _default_vigil_path() -> str:
    """An absolute path: cron's PATH is only /usr/bin:/bin, where a pip-installed vigil rarely is."""
    argv0 = sys.argv[0] if sys.argv else ""
    if Path(argv0).name == "vigil" and os.path.isfile(argv0):
        return os.path.abspath(argv0)
    found = shutil.which("vigil")
    return os.path.abspath(found) if found else "vigil"


def _read_crontab(source: str | None) -> tuple[str, str]:
    """(text, label) from a file, stdin ('-') or `crontab -l`."""
    if source == "-":
        return sys.stdin.read(), "<stdin>"
    if source is not None:
        try:
            return Path(source).read_text(encoding="utf-8"), source
        except OSError as exc:
            raise UsageError(f"discover: cannot read {source}: {exc.strerror or exc}") from None
    try:
        proc = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise UsageError("discover: no `crontab` command here; use --crontab FILE") from None
    if proc.returncode != 0:
        if "no crontab" in proc.stderr.lower():
            return "", "crontab -l"
        raise UsageError(f"discover: `crontab -l` failed: {proc.stderr.strip()}")
    return proc.stdout, "crontab -l"


def _monitor_payload(job: crontab.CronJob, timezone: str, label: str, lineno: int) -> JsonDict:
    host = socket.gethostname()
    return {
        "slug": job.slug,
        "name": job.command if len(job.command) <= 200 else job.command[:197] + "...",
        "schedule": {"kind": "cron", "expression": job.expression, "timezone": timezone},
        "description": f"cron job on {host} ({label}, line {lineno}"
        + (f", user {job.user}" if job.user else "")
        + f"): {job.command}",
        "tags": ["cron"],
    }


def _sync_discovered(client: ApiClient, lines: list[crontab.CronLine], default_tz: str, label: str) -> None:
    existing = {m.get("slug"): m for m in client.monitors()}
    for line in lines:
        job = line.job
        if line.kind != "job" or job is None or job.wrapped:
            continue
        payload = _monitor_payload(job, job.timezone or default_tz, label, line.lineno)
        where = f"{payload['schedule']['expression']}, {payload['schedule']['timezone']}"
        current = existing.get(job.slug)
        if current is None:
            client.create_monitor(payload)
            _err(f"created {job.slug} ({where})")
        elif monitors_file.same_field("schedule", current.get("schedule"), payload["schedule"]):
            _err(f"unchanged {job.slug} ({where})")
        else:
            # Only the schedule: a name or description edited on the server stays.
            client.update_monitor(current["id"], {"schedule": payload["schedule"]})
            _err(f"updated {job.slug} ({where})")


def _install(text: str, source: str | None) -> str:
    """Save a backup, then install; returns the backup's path."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    if source is None:
        current = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False).stdout
        backup_dir = Path.home() / ".vigil"
        backup_dir.mkdir(mode=0o700, exist_ok=True)
        backup = backup_dir / f"crontab-backup-{stamp}"
        backup.write_text(current, encoding="utf-8")
        proc = subprocess.run(["crontab", "-"], input=text, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise UsageError(f"discover: `crontab -` refused the new crontab: {proc.stderr.strip()}")
        return str(backup)
    path = Path(source)
    backup = path.with_name(f"{path.name}.vigil-backup-{stamp}")
    shutil.copy2(path, backup)
    # Atomic replace in the same directory: cron never reads a half-written file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return str(backup)


def cmd_discover(args: argparse.Namespace) -> int:
    if args.write and args.crontab == "-":
        raise UsageError("discover: --write needs a crontab file or `crontab -l`, not stdin")
    text, label = _read_crontab(args.crontab)
    lines = crontab.parse_crontab(text, path=args.crontab, system=True if args.system else None)
    crontab.assign_slugs(lines)
    for line in lines:
        for note in line.notes:
            _err(f"{label}:{line.lineno}: {note}")
    jobs = [line for line in lines if line.kind == "job" and line.job and not line.job.wrapped]
    if not jobs:
        _err("no cron jobs to monitor")
    default_tz = args.timezone or crontab.local_timezone()
    server = _server(args)
    ping_key = args.ping_key or _env("VIGIL_PING_KEY")
    if args.apply or args.write:
        client = _api_client(args)
        if jobs:
            ping_key = ping_key or str(client.project().get("ping_key") or "") or None
            _sync_discovered(client, lines, default_tz, label)
    env = {
        "VIGIL_SERVER": server or "<your Vigil URL>",
        "VIGIL_PING_KEY": ping_key or "<your project's ping key>",
    }
    new_text = crontab.rewrite_crontab(lines, args.vigil_path or _default_vigil_path(), env)
    if args.write:
        if not jobs:
            return 0
        if not ping_key:
            raise UsageError("discover: the project's ping key is unknown; set VIGIL_PING_KEY")
        backup = _install(new_text, args.crontab)
        _err(f"installed the new crontab ({len(jobs)} jobs wrapped); the old one is in {backup}")
        return 0
    sys.stdout.write(new_text)
    if not args.apply and jobs:
        _err(f"dry run: {len(jobs)} jobs found; --apply creates their monitors, --write also installs this")
    return 0


# ---- status, history, last-failure ------------------------------------------------------------


def cmd_status(args: argparse.Namespace) -> int:
    client = _api_client(args)
    filters = {k: v for k, v in (("tag", args.tag), ("status", args.status), ("q", args.query)) if v}
    monitors = client.monitors(**filters)
    if args.json:
        json.dump(monitors, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(tables.status_table(monitors, datetime.now(UTC)))
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    if args.slug and (args.all or args.monitor):
        raise UsageError("history: give a slug, or --all / --monitor, not both")
    filtered = args.failed or args.status or args.since or args.tag
    if not (args.slug or args.all or args.monitor or args.tag):
        raise UsageError("history: give a monitor's slug, or --all for every monitor's runs")
    if args.failed and args.status and args.status != "failed":
        raise UsageError("history: --failed and --status disagree")
    client = _api_client(args)
    limit = max(0, args.limit)
    slug = args.slug or args.monitor
    monitor = client.require_monitor(slug) if slug else None
    if monitor is not None and args.slug and not filtered:
        # One monitor, unfiltered: its own runs list, which every server version has.
        runs = list(itertools.islice(client.runs(monitor["id"]), limit))
        total = None
    else:
        filters = {
            "status": "failed" if args.failed else (args.status or ""),
            "since": args.since or "",
            "tag": args.tag or "",
            "monitor": str(monitor["id"]) if monitor else "",
        }
        total, feed = client.run_feed(**filters)
        runs = list(itertools.islice(feed, limit))
    if args.json:
        json.dump(runs, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if args.slug and not filtered:
        sys.stdout.write(tables.history_table(runs))
    else:
        sys.stdout.write(tables.feed_table(runs))
    if total is not None and total > len(runs):
        _err(f"{len(runs)} of {total} runs shown, newest first (-n {total} shows all)")
    return 0


def cmd_last_failure(args: argparse.Namespace) -> int:
    client = _api_client(args)
    monitor = client.require_monitor(args.slug)
    run = client.last_failed_run(monitor["id"])
    if run is None:
        _err(f"{args.slug}: no failed runs")
        return 1
    started = tables.format_local(tables.parse_time(run.get("started_at") or run.get("finished_at")))
    code = run.get("exit_code")
    _err(f"{args.slug}: failed run at {started}" + (f", exit code {code}" if code is not None else ""))
    if run.get("log_truncated"):
        _err("(log truncated: the server keeps only its end)")
    log = str(run.get("log") or "")
    sys.stdout.write(log if not log or log.endswith("\n") else log + "\n")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    client = _api_client(args)
    monitor = client.require_monitor(args.slug)
    stats = client.stats(monitor["id"])
    if args.json:
        json.dump(stats, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(tables.stats_text(monitor, stats))
    return 0


# ---- trigger, agent ---------------------------------------------------------------------------


def cmd_trigger(args: argparse.Namespace) -> int:
    client = _api_client(args)
    monitor = client.require_monitor(args.slug)
    request = client.run_now(monitor["id"])
    if args.json:
        json.dump(request, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(
            f"{args.slug}: run requested (request {request.get('id')}, rid {request.get('rid')}, "
            f"{request.get('status')})\n"
        )
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    try:
        specs = monitors_file.load_monitors_file(args.config)
    except monitors_file.MonitorsFileError as exc:
        raise UsageError(str(exc)) from None
    commands = {spec.slug: spec.command for spec in specs if spec.command}
    if not commands:
        raise UsageError(
            f"agent: {args.config} maps no monitor to a command (give a [[monitor]] a `command`)"
        )
    if not 0 <= args.wait <= 25:
        raise UsageError("agent: --wait must be between 0 and 25 seconds")
    client = _api_client(args)
    ping_key = args.ping_key or _env("VIGIL_PING_KEY")
    if not ping_key:
        ping_key = str(client.project().get("ping_key") or "")
    settings = agent.AgentSettings(
        server=client.server,
        api_key=client.api_key,
        ping_key=ping_key,
        commands=commands,
        wait=args.wait,
        timeout=_timeout(args),
    )
    return agent.serve(settings, once=args.once)


# ---- apply ----------------------------------------------------------------------------------


def cmd_apply(args: argparse.Namespace) -> int:
    try:
        specs = monitors_file.load_monitors_file(args.file)
    except monitors_file.MonitorsFileError as exc:
        _err(str(exc))
        return EXIT_USAGE
    if args.prune and not specs:
        raise UsageError("apply: refusing to --prune with a file that declares no monitors")
    client = _api_client(args)
    needs_channels = any(spec.channel_names is not None for spec in specs)
    channels = client.channels() if needs_channels else []
    try:
        changes = monitors_file.plan_changes(specs, client.monitors(), channels, prune=args.prune)
    except monitors_file.MonitorsFileError as exc:
        _err(f"{args.file}: {exc}")
        return EXIT_USAGE
    for change in changes:
        if not args.dry_run:
            monitors_file.execute(client, [change])
        sys.stdout.write(monitors_file.format_change(change, dry_run=args.dry_run))
        sys.stdout.flush()
    sys.stdout.write(monitors_file.format_summary(changes, dry_run=args.dry_run))
    return 0


# ---- celery ---------------------------------------------------------------------------------


def _load_celery_app(spec: str) -> Any:
    """`proj.celery:app`, or `proj.celery` holding `app` or `celery`, imported as `celery -A` does."""
    module_name, _, attribute = spec.partition(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # The user's own module: anything can go wrong in it.
        raise UsageError(f"celery: cannot import {module_name!r}: {exc!r}") from None
    for name in [attribute] if attribute else ["app", "celery"]:
        app = getattr(module, name, None)
        if app is not None and hasattr(app, "conf"):
            return app
    wanted = repr(attribute) if attribute else "'app' or 'celery'"
    raise UsageError(f"celery: {module_name!r} has no Celery app named {wanted} (give --app MODULE:NAME)")


def cmd_celery(args: argparse.Namespace) -> int:
    try:
        grace = parse_duration(args.grace, "--grace") if args.grace is not None else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    entries = celery.app_entries(_load_celery_app(args.app))
    if not entries:
        _err(f"{args.app}: no beat entries (app.conf.beat_schedule is empty)")
        return 0
    client = _api_client(args)
    synced = {}
    if args.apply:
        synced = {
            result.entry.slug: result for result in beat.sync_beat_monitors(client, entries, grace=grace)
        }
    states = beat.beat_report(client, entries)
    if args.json:
        report = [_celery_json(state, synced.get(state.entry.slug)) for state in states]
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    now = datetime.now(UTC)
    rows = [_celery_row(state, synced.get(state.entry.slug), now) for state in states]
    sys.stdout.write(tables.render_table(["ENTRY", "TASK", "SCHEDULE", "STATUS", "LAST PING", "NOTE"], rows))
    never = [state.entry.slug for state in states if state.never_pinged]
    if never:
        sys.stdout.write(f"\nNever pinged ({len(never)} of {len(states)}): {', '.join(never)}\n")
    else:
        sys.stdout.write(f"\nAll {len(states)} beat entries have pinged.\n")
    return 0


def _celery_row(state: beat.EntryState, result: beat.Synced | None, now: datetime) -> list[str]:
    entry, monitor = state.entry, state.monitor or {}
    if result is not None and result.action != "skipped":
        note = result.action + (f": {result.detail}" if result.action in ("failed", "updated") else "")
    elif entry.schedule is None:
        note = f"not mapped: {entry.problem}"
    elif not monitor:
        note = "no monitor yet (--apply creates it)"
    elif not monitors_file.same_field("schedule", monitor.get("schedule"), entry.schedule):
        note = f"monitor has {monitors_file.show_schedule(monitor.get('schedule'))} (--apply updates it)"
    else:
        note = "ok"
    last_ping = tables.relative_time(tables.parse_time(monitor.get("last_ping_at")), now)
    return [
        entry.slug,
        entry.task,
        entry.describe() if entry.schedule else "-",
        str(monitor.get("status") or "-"),
        "never" if state.never_pinged else last_ping,
        note,
    ]


def _celery_json(state: beat.EntryState, result: beat.Synced | None) -> JsonDict:
    entry, monitor = state.entry, state.monitor or {}
    return {
        "entry": entry.name,
        "slug": entry.slug,
        "task": entry.task,
        "schedule": entry.schedule,
        "grace_seconds": entry.grace_seconds,
        "not_mapped": entry.problem,
        "action": result.action if result is not None else None,
        "detail": result.detail if result is not None else None,
        "monitor": monitor.get("id"),
        "status": monitor.get("status"),
        "last_ping_at": monitor.get("last_ping_at"),
        "never_pinged": state.never_pinged,
    }


# ---- argument parsing -------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", help="Vigil's base URL (default: $VIGIL_SERVER)")
    common.add_argument(
        "--timeout",
        help=f"seconds all of this command's requests may take, retries included "
        f"(default: $VIGIL_TIMEOUT or {DEFAULT_TIMEOUT:g})",
    )
    pinging = argparse.ArgumentParser(add_help=False)
    pinging.add_argument("--url", help="the monitor's ping URL")
    pinging.add_argument("--slug", help="the monitor's slug (with $VIGIL_SERVER and $VIGIL_PING_KEY)")
    pinging.add_argument("--ping-key", help="the project's ping key (default: $VIGIL_PING_KEY)")
    pinging.add_argument("--create", action="store_true", help="create the monitor if the slug is new")
    pinging.add_argument(
        "--meta",
        action="append",
        metavar="KEY=VALUE",
        help="metadata; numbers and true/false keep their type",
    )
    api = argparse.ArgumentParser(add_help=False)
    api.add_argument("--api-key", help="a project API key (default: $VIGIL_API_KEY)")

    parser = argparse.ArgumentParser(prog="vigil", description="Report cron jobs to Vigil and look at them.")
    parser.add_argument("--version", action="version", version=f"vigil-client {__version__}")
    sub = parser.add_subparsers(dest="subcommand", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "run",
        parents=[common, pinging],
        help="run a command and report its start, result and output",
        description="Run a command and report it: vigil run --url <ping url> -- <command> [args]",
    )
    p.add_argument("--shell", action="store_true", help="run the command through $SHELL -c (default /bin/sh)")
    p.add_argument("--rid", help="the run id to report with (a Run now request's rid; default: a fresh one)")
    p.add_argument("command", nargs=argparse.REMAINDER, help="the command and its arguments, after --")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("ping", parents=[common, pinging], help="send one ping (for shell scripts)")
    p.add_argument(
        "kind", nargs="?", default="success", help="start, fail, log, an exit code 0-255 or nothing"
    )
    p.add_argument("--rid", help="run id tying a start to its finish")
    p.add_argument("--data", help="the body (log text)")
    p.add_argument("--data-file", metavar="FILE", help="read the body from FILE, or stdin for -")
    p.set_defaults(handler=cmd_ping)

    p = sub.add_parser(
        "discover",
        parents=[common, api],
        help="find cron jobs, create their monitors and wrap them in `vigil run`",
        description="Dry run by default: prints the rewritten crontab.",
    )
    p.add_argument("--crontab", metavar="FILE", help="a crontab file or - for stdin (default: `crontab -l`)")
    p.add_argument("--system", action="store_true", help="the file has a user column (/etc/crontab style)")
    p.add_argument("--apply", action="store_true", help="create or update the monitors")
    p.add_argument("--write", action="store_true", help="--apply, then install the rewritten crontab")
    p.add_argument("--ping-key", help="ping key for the crontab (default: $VIGIL_PING_KEY or the API's)")
    p.add_argument("--timezone", help="time zone for jobs without CRON_TZ (default: the system's)")
    p.add_argument("--vigil-path", help="the vigil executable cron should run (default: this one)")
    p.set_defaults(handler=cmd_discover)

    p = sub.add_parser("status", parents=[common, api], help="all monitors: status, last ping, duration")
    p.add_argument("--tag", help="only monitors with this tag")
    p.add_argument("--status", help="only monitors in this status (up, down, late...)")
    p.add_argument("-q", "--query", help="only monitors matching this text")
    p.add_argument("--json", action="store_true", help="print the API's JSON")
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser(
        "history",
        parents=[common, api],
        help="recent runs of one monitor, or of all of them (--all)",
        description="vigil history SLUG, or vigil history --all [--since 24h] [--failed] [--tag T]",
    )
    p.add_argument("slug", nargs="?", help="the monitor's slug")
    p.add_argument("--all", action="store_true", help="runs of every monitor of the project, newest first")
    p.add_argument("--monitor", metavar="SLUG", help="only this monitor's runs (with --all)")
    p.add_argument("--tag", help="only runs of monitors with this tag")
    p.add_argument("--since", help="only runs since then: 90m, 24h, 7d or an ISO 8601 time with a zone")
    p.add_argument("--failed", action="store_true", help="only failed runs")
    p.add_argument("--status", choices=["running", "success", "failed"], help="only runs in this status")
    p.add_argument("-n", "--limit", type=int, default=20, help="how many runs (default 20)")
    p.add_argument("--json", action="store_true", help="print the API's JSON")
    p.set_defaults(handler=cmd_history)

    p = sub.add_parser("last-failure", parents=[common, api], help="print the log of the last failed run")
    p.add_argument("slug")
    p.set_defaults(handler=cmd_last_failure)

    p = sub.add_parser(
        "stats", parents=[common, api], help="success rates, durations and failures of a monitor"
    )
    p.add_argument("slug")
    p.add_argument("--json", action="store_true", help="print the API's JSON")
    p.set_defaults(handler=cmd_stats)

    p = sub.add_parser(
        "celery",
        parents=[common, api],
        help="Celery beat entries: their monitors' schedules, and which never pinged",
        description="Reads a Celery app's beat schedule; --apply gives each entry's monitor its schedule.",
    )
    p.add_argument("--app", required=True, help="the Celery app, as for `celery -A`: MODULE or MODULE:NAME")
    p.add_argument("--apply", action="store_true", help="create or update the monitors")
    p.add_argument("--grace", help="grace for every monitor (default: one period, from 1 minute to 1 hour)")
    p.add_argument("--json", action="store_true", help="print the entries as JSON")
    p.set_defaults(handler=cmd_celery)

    p = sub.add_parser("trigger", parents=[common, api], help="ask for a run of a monitor now (Run now)")
    p.add_argument("slug")
    p.add_argument("--json", action="store_true", help="print the API's JSON")
    p.set_defaults(handler=cmd_trigger)

    p = sub.add_parser(
        "agent",
        parents=[common, api],
        help="wait for Run now requests and run the mapped commands (outbound only)",
        description="Long-polls Vigil with a project API key; a request for a monitor whose [[monitor]] "
        "table in the file has a `command` runs it as `vigil run` does, with the request's rid.",
    )
    p.add_argument("--config", required=True, metavar="FILE", help="the monitors file (monitors.toml)")
    p.add_argument("--ping-key", help="the project's ping key (default: $VIGIL_PING_KEY or the API's)")
    p.add_argument(
        "--wait", type=float, default=25.0, help="seconds each poll waits on the server (0-25, default 25)"
    )
    p.add_argument("--once", action="store_true", help="run one request, then exit with its exit status")
    p.set_defaults(handler=cmd_agent)

    p = sub.add_parser("apply", parents=[common, api], help="create/update monitors from a TOML file")
    p.add_argument("file", help="monitors.toml")
    p.add_argument("--prune", action="store_true", help="delete monitors the file does not name")
    p.add_argument("--dry-run", action="store_true", help="only show what would change")
    p.set_defaults(handler=cmd_apply)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except UsageError as exc:
        _err(str(exc))
        return EXIT_USAGE
    except ApiError as exc:
        _err(str(exc))
        return 1
    except BrokenPipeError:
        # `vigil status | head`: the reader left; not an error worth a traceback.
        _quiet_stdout()
        return 0
    except KeyboardInterrupt:
        return 130


def _quiet_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
