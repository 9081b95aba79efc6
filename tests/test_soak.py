"""The embedded mode under load: bench/soak.py's 200 monitors for a short while (`make soak` runs 30 min)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak import MAX_UNCERTAIN_SHARE, soak

MINUTES = 1.5


@pytest.mark.smoke
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_make_run_stays_up_and_delivers_every_alert_under_200_monitors(tmp_path: Path) -> None:
    report = soak(minutes=MINUTES, var_dir=tmp_path / "var")
    summary = "\n".join(report.lines())
    assert report.restarts == [], summary
    assert report.pings.refused == [], summary
    assert report.pings.sent > 4000, summary
    # Failing and missing monitors went down and came back: alerts of both kinds were due.
    assert {event for _, event in report.expected} == {"problem", "recovered"}, summary
    assert report.uncertain_share <= MAX_UNCERTAIN_SHARE, summary
    assert not report.missing, summary
    assert not report.unexpected, summary
    assert report.log_problems == [], summary
