"""The one line every benchmark prints per figure, for bench/all.py to gather into the table:

    BENCH-ROW {"name": ..., "figure": ..., "unit": ..., "target": ..., "reference": ...}

`figure` is a number (or null when it could not be measured); `reference` is what it is
compared with, measured in the same run (a number in `unit`, or a short text); `target` is a
short text ("<= 120 MB", "ratio >= 0.9") or "" when there is none.
"""

from __future__ import annotations

import json

PREFIX = "BENCH-ROW "


def bench_row(
    name: str, figure: float | None, unit: str, *, target: str = "", reference: object = ""
) -> None:
    row = {"name": name, "figure": figure, "unit": unit, "target": target, "reference": reference}
    print(PREFIX + json.dumps(row, ensure_ascii=False), flush=True)
