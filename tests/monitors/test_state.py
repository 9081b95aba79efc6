"""monitors.state, the pure state machine: every rule of CONTRACT §3, table-driven, no database.

A small harness plays the persistence layer's part: it numbers the runs the effects start and
remembers which are open, so Start/Finish/Tick get the open-run facts a caller would look up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from monitors.maintenance import Window, maintenance_until, window_active_until
from monitors.schedule import Schedule, next_due
from monitors.state import (
    Config,
    Context,
    ContextNeeded,
    Edit,
    Effect,
    Finish,
    FlapSummary,
    IncidentJoined,
    IncidentOpened,
    IncidentResolved,
    MonitorState,
    OpenRun,
    OpenRuns,
    Outage,
    Pause,
    ProblemRepeated,
    Resume,
    RunFinished,
    RunStarted,
    RunTimedOut,
    Start,
    Tick,
    apply,
    deadline_of,
    initial_state,
    status_of,
)

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
RID_A = UUID("6f1e3c1a-8a44-4c39-9b55-1f1f5c9b7a10")
RID_B = UUID("0b7f1f7e-5a8e-4f4a-9c0c-2d2a3c4b5d6e")
ZERO_RECORDS = {"field": "records_processed", "op": "eq", "value": 0}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def config(**fields: Any) -> Config:
    fields.setdefault("schedule", Schedule(kind="interval", seconds=60))
    fields.setdefault("grace_seconds", 30)
    return Config(**fields)


class Harness:
    """A monitor created at T0 (interval 60 s, grace 30 s unless told), driven event by event."""

    def __init__(self, context: Context | None = None, **fields: Any) -> None:
        self.state = initial_state(config(**fields), created_at=T0)
        self.context = context or Context(windows=(), outages=())
        self.open: list[OpenRun] = []
        self.effects: list[Effect] = []
        self._ids = 0

    def _open_runs(self, rid: UUID | None) -> OpenRuns:
        with_rid = next((run for run in self.open if rid is not None and run.rid == rid), None)
        return OpenRuns(oldest=tuple(self.open), complete=True, with_rid=with_rid)

    def apply(self, event: Any) -> list[Effect]:
        transition = apply(self.state, event, self.context)
        self.state = transition.state
        for effect in transition.effects:
            if isinstance(effect, RunStarted):
                self._ids += 1
                self.open.append(OpenRun(id=self._ids, started_at=effect.at, rid=getattr(event, "rid", None)))
            elif isinstance(effect, RunFinished | RunTimedOut):
                closed = effect.closes if isinstance(effect, RunFinished) else effect.run
                self.open = [run for run in self.open if run.id != closed]
        self.effects += transition.effects
        return list(transition.effects)

    def start(self, seconds: float, rid: UUID | None = None) -> list[Effect]:
        return self.apply(Start(at=at(seconds), rid=rid, open_runs=self._open_runs(rid)))

    def finish(self, seconds: float, ok: bool = True, rid: UUID | None = None, **fields: Any) -> list[Effect]:
        return self.apply(
            Finish(at=at(seconds), succeeded=ok, rid=rid, open_runs=self._open_runs(rid), **fields)
        )

    def fail(self, seconds: float, **fields: Any) -> list[Effect]:
        return self.finish(seconds, ok=False, **fields)

    def tick(self, seconds: float) -> list[Effect]:
        return self.apply(Tick(at=at(seconds), open_runs=self._open_runs(None)))

    def told(self) -> list[str]:
        """The incident effects so far, in words: "opened failed", "joined missed", "repeat 1", "resolved"."""
        words = []
        for effect in self.effects:
            if isinstance(effect, IncidentOpened):
                words.append(f"opened {effect.problem.kind}")
            elif isinstance(effect, IncidentJoined):
                words.append(f"joined {effect.problem.kind}")
            elif isinstance(effect, ProblemRepeated):
                words.append(f"repeat {effect.repeat} ({effect.failures_in_a_row} in a row)")
            elif isinstance(effect, IncidentResolved):
                words.append("resolved")
        return words


@dataclass(frozen=True)
class Case:
    name: str
    script: Callable[[Harness], object]
    told: list[str]
    status: str
    fields: dict[str, Any] | None = None


def _slow_history(h: Harness, durations: list[float], last: float) -> None:
    start = 0.0
    for duration in [*durations, last]:
        h.start(start)
        h.finish(start + duration)
        start += 50


CASES = [
    Case("a good run", lambda h: h.finish(10), [], "up"),
    Case("a failure opens an incident", lambda h: h.fail(10), ["opened failed"], "down"),
    Case("an exit code is a failure", lambda h: h.fail(10, exit_code=3), ["opened failed"], "down"),
    Case(
        "fail then success 10 ms later: notified, then recovered",
        lambda h: (h.fail(10), h.finish(10.01)),
        ["opened failed", "resolved"],
        "up",
    ),
    Case(
        "failure threshold counts bad outcomes in a row",
        lambda h: (h.fail(10), h.finish(20), h.fail(30)),
        [],
        "up",
        {"failure_threshold": 2},
    ),
    Case(
        "failure threshold reached",
        lambda h: (h.fail(10), h.fail(20)),
        ["opened failed"],
        "down",
        {"failure_threshold": 2},
    ),
    Case(
        "fail, fail, success at threshold 2, inside one second",
        lambda h: (h.fail(10), h.fail(10.2), h.finish(10.4)),
        ["opened failed", "resolved"],
        "up",
        {"failure_threshold": 2},
    ),
    Case(
        "recovery threshold needs good runs in a row",
        lambda h: (h.fail(10), h.finish(20)),
        ["opened failed"],
        "down",
        {"recovery_threshold": 2},
    ),
    Case(
        "recovery threshold reached",
        lambda h: (h.fail(10), h.finish(20), h.finish(30)),
        ["opened failed", "resolved"],
        "up",
        {"recovery_threshold": 2},
    ),
    Case("late after the due time", lambda h: h.tick(61), [], "late"),
    Case("missed after due + grace", lambda h: h.tick(90), ["opened missed"], "down"),
    Case("not missed a moment before", lambda h: h.tick(89.999), [], "late"),
    Case(
        "a finish after due + grace is missed first, however soon after the deadline it comes",
        lambda h: h.finish(90.001),
        ["opened missed", "resolved"],
        "up",
    ),
    Case(
        "a new kind joins the open incident",
        lambda h: (h.fail(10), h.tick(10 + 60 + 30)),
        ["opened failed", "joined missed"],
        "down",
    ),
    Case(
        "too long at the maximum",
        lambda h: (h.start(10), h.tick(130)),
        ["opened too_long"],
        "down",
        {"max_duration_seconds": 120, "schedule": Schedule(kind="interval", seconds=3600)},
    ),
    Case("an open run is never missed", lambda h: (h.start(10), h.tick(89)), [], "running"),
    Case(
        "without a maximum, too long at the first due + grace after its start",
        lambda h: (h.start(10), h.tick(90)),
        ["opened too_long"],
        "down",
    ),
    Case(
        "a start while a run is open is an overlap",
        lambda h: (h.start(5, RID_A), h.start(6, RID_B)),
        ["opened overlap"],
        "down",
    ),
    Case(
        "allow_overlap switches it off",
        lambda h: (h.start(5, RID_A), h.start(6, RID_B)),
        [],
        "running",
        {"allow_overlap": True},
    ),
    Case(
        "a retried start (same rid) is no second run",
        lambda h: (h.start(5, RID_A), h.start(6, RID_A)),
        [],
        "running",
    ),
    Case(
        "a rule on metadata",
        lambda h: h.finish(10, meta={"records_processed": 0}),
        ["opened rule"],
        "down",
        {"rules": [ZERO_RECORDS]},
    ),
    Case(
        "a rule value of another type never matches",
        lambda h: h.finish(10, meta={"records_processed": "0"}),
        [],
        "up",
        {"rules": [ZERO_RECORDS]},
    ),
    Case(
        "a run far slower than its history is slow",
        lambda h: _slow_history(h, [2, 3] * 5, 60),
        ["opened slow"],
        "down",
        {"schedule": Schedule(kind="interval", seconds=3600)},
    ),
    Case(
        "no slow alert before ten runs of history",
        lambda h: _slow_history(h, [2] * 9, 600),
        [],
        "up",
        {"schedule": Schedule(kind="interval", seconds=3600)},
    ),
    Case(
        "notify_every_failures 0: only the opening failure",
        lambda h: [h.fail(n) for n in range(1, 8)],
        ["opened failed", *["joined failed"] * 6],
        "down",
    ),
    Case(
        "notify_every_failures 3: the 1st, 3rd and 6th",
        lambda h: [h.fail(n) for n in range(1, 8)],
        [
            "opened failed",
            "joined failed",
            "joined failed",
            "repeat 1 (3 in a row)",
            "joined failed",
            "joined failed",
            "joined failed",
            "repeat 2 (6 in a row)",
            "joined failed",
        ],
        "down",
        {"notify_every_failures": 3},
    ),
    Case(
        "notify_every_failures 1: every failure",
        lambda h: [h.fail(n) for n in range(1, 4)],
        ["opened failed", "joined failed", "repeat 1 (2 in a row)", "joined failed", "repeat 2 (3 in a row)"],
        "down",
        {"notify_every_failures": 1},
    ),
    Case(
        "a good run restarts the count of failures in a row",
        lambda h: (h.fail(1), h.fail(2), h.finish(3), h.fail(4), h.fail(5)),
        ["opened failed", "joined failed", "joined failed", "joined failed"],
        "down",
        {"notify_every_failures": 3, "recovery_threshold": 2},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_rule(case: Case) -> None:
    harness = Harness(**(case.fields or {}))
    case.script(harness)
    assert harness.told() == case.told
    assert harness.state.status == case.status


# --- finishes and open runs ------------------------------------------------------------------


def test_a_finish_without_a_rid_closes_the_oldest_open_run() -> None:
    h = Harness(allow_overlap=True)
    h.start(1, RID_A)
    h.start(2, RID_B)
    [finished] = [e for e in h.finish(5) if isinstance(e, RunFinished)]
    assert (finished.closes, finished.duration_ms) == (1, 4000)
    assert (h.state.open_runs, h.state.running_since) == (1, at(2))


def test_a_finish_with_a_rid_closes_that_run_and_without_an_open_one_is_its_own_run() -> None:
    h = Harness(allow_overlap=True)
    h.start(1, RID_A)
    h.start(2, RID_B)
    [finished] = [e for e in h.finish(5, rid=RID_B) if isinstance(e, RunFinished)]
    assert (finished.closes, finished.duration_ms) == (2, 3000)
    assert h.state.running_since == at(1)
    [alone] = [e for e in h.finish(6, rid=UUID(int=7)) if isinstance(e, RunFinished)]
    assert (alone.closes, alone.duration_ms) == (None, None)


def test_the_start_meta_and_the_finish_meta_are_judged_together() -> None:
    h = Harness(rules=[{"field": "rows", "op": "lt", "value": 10}])
    h.apply(Start(at=at(1), open_runs=OpenRuns()))
    h.open = [replace(h.open[0], meta={"rows": 3})]
    h.finish(2, meta={"other": 1})
    assert h.told() == ["opened rule"]


def test_runs_timing_out_each_count_as_a_finish_and_close_in_start_order() -> None:
    h = Harness(allow_overlap=True, max_duration_seconds=20, schedule=Schedule(kind="interval", seconds=3600))
    h.start(1)
    h.start(2)
    timed_out = [e for e in h.tick(30) if isinstance(e, RunTimedOut)]
    assert [(e.run, e.duration_ms) for e in timed_out] == [(1, 29000), (2, 28000)]
    assert h.told() == ["opened too_long", "joined too_long"]
    assert (h.state.open_runs, h.state.running_since, h.state.last_finish_at) == (0, None, at(30))


def test_an_open_run_counter_that_drifted_is_set_right_by_a_complete_lookup() -> None:
    h = Harness()
    drifted = replace(h.state, open_runs=3, running_since=at(1))
    transition = apply(drifted, Finish(at=at(5), succeeded=True, open_runs=OpenRuns()), Context())
    assert transition.state.open_runs == 0


def test_the_fast_path_never_needs_windows_or_outages_for_a_good_run() -> None:
    state = initial_state(config(), created_at=T0)
    transition = apply(state, Finish(at=at(10), succeeded=True, open_runs=OpenRuns()), Context())
    assert transition.state.status == "up"
    assert not transition.touches_incidents


@pytest.mark.parametrize(
    ("event", "needs"),
    [
        (Finish(at=at(10), succeeded=False, open_runs=OpenRuns()), "windows"),
        (Finish(at=at(95), succeeded=True, open_runs=OpenRuns()), "outages"),
        (Start(at=at(10)), None),
    ],
)
def test_a_rule_asks_for_the_context_it_needs(event: Any, needs: str | None) -> None:
    state = initial_state(config(), created_at=T0)
    if needs is None:
        apply(state, event, Context())
        return
    with pytest.raises(ContextNeeded) as raised:
        apply(state, event, Context())
    assert raised.value.what == needs


def test_a_start_on_a_monitor_with_open_runs_needs_them_looked_up() -> None:
    h = Harness()
    h.start(1, RID_A)
    with pytest.raises(ContextNeeded):
        apply(h.state, Start(at=at(2), rid=RID_B), Context())


# --- status and deadline ---------------------------------------------------------------------


def test_deadlines_follow_what_is_next() -> None:
    h = Harness(max_duration_seconds=20)
    assert h.state.deadline == at(60)  # late from then
    h.tick(61)
    assert h.state.deadline == at(90)  # missed then
    h.start(62)
    assert h.state.deadline == at(82)  # too long then
    h.finish(70)
    assert h.state.deadline == at(130)
    h.apply(Pause(at=at(71), until=at(500)))
    assert (h.state.deadline, h.state.status) == (at(500), "paused")
    h.apply(Pause(at=at(72)))
    assert (h.state.deadline, h.state.status) == (None, "paused")


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"paused": True, "incident_open": True, "open_runs": 1}, "paused"),
        ({"incident_open": True, "open_runs": 1}, "down"),
        ({"open_runs": 1, "next_due_at": at(-1)}, "running"),
        ({"next_due_at": at(-1), "last_finish_at": at(-30)}, "late"),
        ({"last_finish_at": None}, "new"),
        ({"last_finish_at": at(-30)}, "up"),
    ],
)
def test_status_derivation(fields: dict[str, Any], status: str) -> None:
    state = replace(initial_state(config(), created_at=at(-30)), **fields)
    assert status_of(state, T0) == status


# --- pause, resume, edit ---------------------------------------------------------------------


def test_a_paused_monitor_records_runs_and_raises_nothing() -> None:
    h = Harness()
    h.apply(Pause(at=at(1)))
    h.start(2, RID_A)
    h.start(3, RID_B)
    h.fail(10)
    h.tick(500)
    assert h.told() == []
    assert h.state.status == "paused"


def test_resume_starts_a_fresh_window_and_streak() -> None:
    h = Harness(failure_threshold=2)
    h.fail(10)
    h.apply(Pause(at=at(20)))
    h.apply(Resume(at=at(500)))
    assert (h.state.next_due_at, h.state.consecutive_bad, h.state.status) == (at(560), 0, "up")
    h.tick(589)
    assert h.told() == []
    h.tick(590)
    assert h.told() == []  # one missed window, threshold 2
    h.tick(650)
    assert h.told() == ["opened missed"]


def test_a_pause_with_an_end_resumes_by_itself() -> None:
    h = Harness()
    h.apply(Pause(at=at(1), until=at(300)))
    h.tick(301)
    assert (h.state.paused, h.state.status, h.state.next_due_at) == (False, "new", at(361))


@pytest.mark.parametrize("resume", ["api", "until"])
def test_resume_clears_a_held_problem_either_way(resume: str) -> None:
    """One rule for both ways out of a pause (they used to disagree)."""
    window = Window(starts_at=T0, ends_at=at(50))
    h = Harness(Context(windows=(window,), outages=()))
    h.fail(10)
    assert h.state.held is not None
    h.apply(Pause(at=at(20), until=at(100) if resume == "until" else None))
    if resume == "api":
        h.apply(Resume(at=at(100)))
    else:
        h.tick(100)
    assert h.state.held is None
    h.tick(101)
    assert h.told() == []


def test_an_edit_of_the_schedule_replans_the_current_window() -> None:
    h = Harness()
    h.finish(10)
    edited = config(schedule=Schedule(kind="interval", seconds=600))
    h.apply(Edit(at=at(20), config=edited))
    assert h.state.next_due_at == at(610)
    assert h.state.deadline == at(610)


def test_an_edit_that_makes_the_window_overdue_leaves_it_to_the_sweeper() -> None:
    h = Harness(schedule=Schedule(kind="interval", seconds=600))
    h.finish(10)
    transition = apply(h.state, Edit(at=at(100), config=config()), Context())
    assert transition.effects == ()
    assert transition.state.next_due_at == at(70)
    assert transition.state.deadline == at(100)  # due + grace has passed: look now
    h.state = transition.state
    h.tick(100)
    assert h.told() == ["opened missed"]


# --- maintenance and our own outages ---------------------------------------------------------


def test_maintenance_holds_a_problem_until_the_window_closes() -> None:
    window = Window(starts_at=T0, ends_at=at(50))
    h = Harness(Context(windows=(window,), outages=()))
    h.fail(10)
    assert h.told() == []
    assert h.state.deadline == at(50)
    h.tick(50)
    assert h.told() == ["opened failed"]
    [opened] = [e for e in h.effects if isinstance(e, IncidentOpened)]
    assert opened.problem.note == "held during maintenance"


def test_a_held_problem_is_alerted_at_the_window_end_even_when_a_good_run_comes_first() -> None:
    """The window closed with the problem unresolved: a success after that (before any sweep)
    recovers from it; it does not hide it."""
    window = Window(starts_at=T0, ends_at=at(50))
    h = Harness(Context(windows=(window,), outages=()))
    h.fail(10)
    h.finish(50.5)
    assert h.told() == ["opened failed", "resolved"]


def test_a_problem_fixed_inside_maintenance_is_never_alerted() -> None:
    window = Window(starts_at=T0, ends_at=at(50))
    h = Harness(Context(windows=(window,), outages=()))
    h.fail(10)
    h.finish(20)
    h.tick(51)
    assert h.told() == []


def test_a_repeat_is_not_sent_during_maintenance() -> None:
    window = Window(starts_at=at(100), ends_at=at(200))
    hourly = Schedule(kind="interval", seconds=3600)
    h = Harness(Context(windows=(window,), outages=()), notify_every_failures=1, schedule=hourly)
    h.fail(10)
    h.fail(150)
    h.fail(250)
    assert h.told() == ["opened failed", "joined failed", "joined failed", "repeat 1 (3 in a row)"]


def test_an_outage_of_ours_extends_a_deadline_inside_it_and_says_so() -> None:
    outage = Outage(started_at=at(50), ended_at=at(650))
    h = Harness(Context(windows=(), outages=(outage,)))
    h.tick(650)
    assert h.told() == []
    assert h.state.deadline == at(90 + 600)
    h.tick(690)
    [opened] = [e for e in h.effects if isinstance(e, IncidentOpened)]
    assert "Vigil's sweeper was not running" in opened.problem.note


def test_a_ping_during_an_outage_is_not_judged_late_for_it() -> None:
    """While the sweeper is away, the gap so far counts (the ping path passes it as going on)."""
    ongoing = Outage(started_at=at(50), ended_at=at(200))
    h = Harness(Context(windows=(), outages=(ongoing,)))
    h.finish(200)
    assert h.told() == []


# --- the DST rule maintenance shares with schedules ------------------------------------------


def test_a_maintenance_window_in_a_spring_forward_gap_starts_when_monitor_schedules_say() -> None:
    """02:30 in Berlin is skipped on 29 March 2026: both begin at 03:00 CEST (01:00 UTC)."""
    window = Window(cron_expression="30 2 * * *", timezone="Europe/Berlin", duration_seconds=600)
    schedule = Schedule(kind="cron", expression="30 2 * * *", timezone="Europe/Berlin")
    gap_end = next_due(schedule, datetime(2026, 3, 28, 12, tzinfo=UTC))
    assert gap_end == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert window_active_until(window, gap_end - timedelta(seconds=1)) is None
    assert window_active_until(window, gap_end) == gap_end + timedelta(seconds=600)
    assert maintenance_until([window], gap_end + timedelta(seconds=599)) == gap_end + timedelta(seconds=600)


def test_a_maintenance_window_in_a_repeated_hour_starts_at_its_first_occurrence() -> None:
    window = Window(cron_expression="30 2 * * *", timezone="Europe/Berlin", duration_seconds=1800)
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert window_active_until(window, first + timedelta(minutes=10)) == first + timedelta(minutes=30)
    assert window_active_until(window, first + timedelta(minutes=70)) is None


def test_initial_state_of_a_paused_monitor() -> None:
    state = initial_state(config(), created_at=T0, paused=True)
    assert (state.status, state.deadline, state.next_due_at) == ("paused", None, at(60))
    assert deadline_of(state, T0, Context()) is None


def test_a_monitor_state_is_immutable() -> None:
    state: MonitorState = initial_state(config(), created_at=T0)
    with pytest.raises(AttributeError):
        state.status = "down"  # type: ignore[misc]


# --- resume on ping, flapping ------------------------------------------------------------------


@pytest.mark.parametrize("ping", ["start", "finish"])
def test_resume_on_ping_resumes_before_the_ping_counts(ping: str) -> None:
    h = Harness(resume_on_ping=True)
    h.apply(Pause(at=at(1)))
    h.start(100) if ping == "start" else h.fail(100)
    assert not h.state.paused
    assert h.state.status == ("running" if ping == "start" else "down")


def test_without_resume_on_ping_a_ping_leaves_the_monitor_paused() -> None:
    h = Harness()
    h.apply(Pause(at=at(1)))
    h.fail(100)
    assert (h.state.paused, h.told()) == (True, [])


def _flap(h: Harness, times: int, every: float = 20) -> None:
    for n in range(times):
        h.fail(n * every)
        h.finish(n * every + every / 2)


def notified(effects: list[Effect]) -> list[str]:
    words = []
    for effect in effects:
        if isinstance(effect, IncidentOpened | IncidentResolved) and effect.notify:
            words.append("problem" if isinstance(effect, IncidentOpened) else "recovered")
        elif isinstance(effect, FlapSummary):
            words.append(f"summary {effect.flap.problems}/{effect.flap.recoveries}")
    return words


def test_the_third_opening_within_the_window_starts_flapping_and_holds_what_follows() -> None:
    h = Harness(flap_window_seconds=300, schedule=Schedule(kind="interval", seconds=3600))
    _flap(h, 4)
    assert h.told() == ["opened failed", "resolved"] * 4  # every incident is still recorded
    assert notified(h.effects) == ["problem", "recovered", "problem", "recovered", "problem"]
    flap = h.state.flap
    assert flap is not None
    assert (flap.since, flap.last_change_at, flap.problems, flap.recoveries) == (at(40), at(70), 1, 2)
    assert h.state.deadline == at(70 + 300)  # before the next due time: the sweeper looks then


def test_stable_for_the_window_the_held_notifications_are_summarised_once() -> None:
    h = Harness(flap_window_seconds=300, schedule=Schedule(kind="interval", seconds=3600))
    _flap(h, 4)
    assert notified(h.tick(369)) == []
    assert notified(h.tick(370)) == ["summary 1/2"]
    assert h.state.flap is None
    assert notified(h.tick(371)) == []
    h.fail(400)
    assert notified(h.effects)[-1] == "problem"  # flapping is over


def test_openings_further_apart_than_the_window_never_flap() -> None:
    h = Harness(flap_window_seconds=300, schedule=Schedule(kind="interval", seconds=3600))
    _flap(h, 5, every=151)
    assert h.state.flap is None
    assert notified(h.effects) == ["problem", "recovered"] * 5


def test_repeats_while_flapping_are_held_and_do_not_extend_it() -> None:
    h = Harness(
        flap_window_seconds=300, notify_every_failures=1, schedule=Schedule(kind="interval", seconds=3600)
    )
    _flap(h, 3)
    h.fail(60)
    h.fail(80)  # a repeat, held
    flap = h.state.flap
    assert flap is not None
    assert (flap.problems, flap.last_change_at) == (2, at(60))
    assert not any(isinstance(effect, ProblemRepeated) for effect in h.effects)
