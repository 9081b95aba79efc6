"""`make bench`: every benchmark in one run, one table.

    .venv/bin/python bench/all.py            # the full run (tens of minutes; a quiet machine)
    .venv/bin/python bench/all.py --quick    # small sizes: proves the steps work, not figures
    .venv/bin/python bench/all.py --only memory retention

Each step is a subprocess (its output goes through to the terminal and to var/bench/<step>.log);
every line it prints as `BENCH-ROW {json}` (bench/rows.py: name, figure, unit, target,
reference) becomes a row of the table, in order. Each figure's reference is measured in the
same run by the same step (hello-world beside Vigil, with and without retention, …). The table
goes to var/bench/table.md and is printed. Exits 1 when a step failed or printed no row (the
table says which).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.rows import PREFIX  # noqa: E402

OUT = ROOT / "var" / "bench"
PYTHON = str(ROOT / ".venv" / "bin" / "python")


@dataclass(frozen=True)
class Step:
    name: str
    what: str
    command: list[str]
    quick: list[str] = field(default_factory=list)  # extra arguments with --quick
    quick_env: dict[str, str] = field(default_factory=dict)
    quick_command: list[str] = field(default_factory=list)  # instead of `command` with --quick


STEPS = (
    Step(
        "ping",
        "ping throughput and p99, PostgreSQL and SQLite, against hello-world",
        ["make", "--no-print-directory", "bench-ping"],
        quick_env={"DURATION": "3s", "WARMUP": "1s", "MONITORS": "500"},
    ),
    Step(
        "sweep",
        "no-due sweep at 100,000 monitors, 1,000 deadlines at once, deadline -> webhook; "
        "PostgreSQL + Redis, then the embedded mode (SQLite, its own broker)",
        ["make", "--no-print-directory", "bench-sweep"],
        quick_env={"SWEEP_ARGS": "--monitors 2000 --samples 20"},
    ),
    Step(
        "delivery",
        "CPU and wall time per outbox row delivered by one thread to a loopback sink (PostgreSQL)",
        ["make", "--no-print-directory", "bench-delivery"],
        quick_command=[PYTHON, "bench/delivery_cpu.py", "--rows", "50"],
    ),
    Step(
        "memory",
        "resident memory of web worker, delivery worker, housekeeping and beat after load",
        ["make", "--no-print-directory", "bench-memory"],
        quick_command=[PYTHON, "bench/memory.py", "--seconds", "4", "--monitors", "30"],
    ),
    Step(
        "retention",
        "ping throughput with retention deleting, against without",
        ["make", "--no-print-directory", "bench-retention"],
        quick_command=[
            PYTHON,
            "bench/retention.py",
            "--seconds",
            "3",
            "--monitors",
            "20",
            "--backlog",
            "500",
        ],
    ),
)


@dataclass
class Outcome:
    step: Step
    rows: list[dict[str, object]]
    returncode: int
    seconds: float


def run(step: Step, *, quick: bool) -> Outcome:
    command = (step.quick_command or step.command + step.quick) if quick else step.command
    env = {**os.environ, **(step.quick_env if quick else {})}
    print(f"\n== {step.name}: {step.what}\n$ {' '.join(command)}", flush=True)
    rows: list[dict[str, object]] = []
    started = time.monotonic()
    with (OUT / f"{step.name}.log").open("w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert process.stdout is not None
        for line in process.stdout:
            sys.stdout.write(line)
            log.write(line)
            if line.startswith(PREFIX):
                try:
                    rows.append(json.loads(line[len(PREFIX) :]))
                except json.JSONDecodeError:
                    rows.append({"name": f"unreadable row from {step.name}", "figure": None, "unit": ""})
        returncode = process.wait()
    return Outcome(step, rows, returncode, time.monotonic() - started)


def number(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return "n/a" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value)


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(outcomes: list[Outcome], *, quick: bool) -> str:
    load = " ".join(f"{value:.1f}" for value in os.getloadavg())
    lines = [
        f"`make bench`{' (--quick: small sizes, not figures)' if quick else ''}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, {platform.python_version()}, "
        f"load average at the end {load}",
        "",
        "| step | measure | figure | reference (same run) | target |",
        "|---|---|---|---|---|",
    ]
    for outcome in outcomes:
        for row in outcome.rows:
            unit = str(row.get("unit") or "")
            figure = f"{number(row.get('figure'))} {unit}".strip()
            reference = row.get("reference", "")
            reference_text = (
                f"{number(reference)} {unit}".strip()
                if isinstance(reference, int | float)
                else str(reference)
            )
            lines.append(
                f"| {outcome.step.name} | {cell(str(row.get('name', '')))} | {cell(figure)} "
                f"| {cell(reference_text)} | {cell(str(row.get('target') or ''))} |"
            )
        if outcome.returncode != 0 or not outcome.rows:
            trouble = f"exit status {outcome.returncode}" if outcome.returncode else "no BENCH-ROW printed"
            lines.append(
                f"| {outcome.step.name} | **failed** ({trouble}; var/bench/{outcome.step.name}.log) | | | |"
            )
    lines.append("")
    lines.append("Seconds per step: " + ", ".join(f"{o.step.name} {o.seconds:.0f}" for o in outcomes))
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check that every step works")
    parser.add_argument("--only", nargs="+", choices=[step.name for step in STEPS], help="these steps only")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    outcomes = [run(step, quick=args.quick) for step in STEPS if not args.only or step.name in args.only]
    table = render(outcomes, quick=args.quick)
    (OUT / "table.md").write_text(table)
    print(f"\n== the table (var/bench/table.md)\n\n{table}")
    return 0 if all(o.returncode == 0 and o.rows for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
