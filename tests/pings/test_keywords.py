"""Body keywords as the ping path will apply them (pure: pings.keywords, monitors.keywords)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitors.keywords import KeywordsError, normalize_keywords
from pings.keywords import BodyMatch, classify_body, kind_after_keywords
from pings.models import PingKind

HC_STYLE = normalize_keywords({"success": ["backup complete"], "failure": ["ERROR"], "start": ["starting"]})
FAILURE_ONLY = normalize_keywords({"failure": ["error"]})


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("Backup COMPLETE in 3 min", BodyMatch.SUCCESS),
        ("error: disk full", BodyMatch.FAILURE),
        ("Starting the nightly run", BodyMatch.START),
        # Healthchecks' order: failure, then success, then start.
        ("starting... backup complete... ERROR on cleanup", BodyMatch.FAILURE),
        ("starting... backup complete", BodyMatch.SUCCESS),
        ("nothing to report", BodyMatch.NOTHING),
        ("", BodyMatch.NOTHING),
    ],
)
def test_classify_body_with_success_keywords(body: str, match: BodyMatch) -> None:
    assert classify_body(body, HC_STYLE) == match


def test_without_success_keywords_an_unmatched_body_says_nothing() -> None:
    assert classify_body("all fine", FAILURE_ONLY) is None
    assert classify_body("an ERROR happened", FAILURE_ONLY) == BodyMatch.FAILURE
    assert classify_body("anything", normalize_keywords({})) is None


def test_matching_ignores_case_beyond_ascii() -> None:
    keywords = normalize_keywords({"failure": ["STRASSE"], "success": ["Ölwechsel fertig"]})
    assert classify_body("gesperrt: straße", keywords) == BodyMatch.FAILURE
    assert classify_body("ÖLWECHSEL FERTIG", keywords) == BodyMatch.SUCCESS


@pytest.mark.parametrize(
    ("kind", "exit_code", "body", "expected"),
    [
        (PingKind.SUCCESS, None, "backup complete", PingKind.SUCCESS),
        (PingKind.SUCCESS, None, "ERROR", PingKind.FAIL),
        (PingKind.SUCCESS, None, "starting", PingKind.START),
        (PingKind.SUCCESS, None, "no keyword here", None),
        (PingKind.EXIT, 0, "no keyword here", None),
        (PingKind.EXIT, 0, "ERROR", PingKind.FAIL),
        (PingKind.EXIT, 0, "backup complete", PingKind.EXIT),
        # The job's own word that it failed or started is kept.
        (PingKind.FAIL, None, "backup complete", PingKind.FAIL),
        (PingKind.EXIT, 3, "backup complete", PingKind.EXIT),
        (PingKind.START, None, "", PingKind.START),
        (PingKind.START, None, "ERROR before we began", PingKind.FAIL),
        # A log line changes no state, whatever it says.
        (PingKind.LOG, None, "ERROR", PingKind.LOG),
    ],
)
def test_kind_after_keywords(
    kind: PingKind, exit_code: int | None, body: str, expected: PingKind | None
) -> None:
    assert kind_after_keywords(kind, exit_code=exit_code, body=body, keywords=HC_STYLE) == expected


def test_no_keywords_change_nothing() -> None:
    empty = normalize_keywords({})
    for kind in PingKind:
        assert kind_after_keywords(kind, exit_code=0, body="ERROR starting", keywords=empty) == kind


def test_normal_form_fills_kinds_strips_and_dedupes() -> None:
    assert normalize_keywords({"failure": [" Error ", "ERROR", "fatal"]}) == {
        "success": [],
        "failure": ["Error", "fatal"],
        "start": [],
    }


@pytest.mark.parametrize(
    "value",
    [None, [], "ok", {"success": "ok"}, {"other": []}, {"start": [""]}, {"start": [3]}, {"start": ["a\x00"]}],
)
def test_normal_form_refuses(value: object) -> None:
    with pytest.raises(KeywordsError):
        normalize_keywords(value)


@given(st.lists(st.text(min_size=1, max_size=20).filter(lambda s: s.strip() and "\x00" not in s), max_size=5))
def test_normalising_twice_changes_nothing(words: list[str]) -> None:
    try:
        once = normalize_keywords({"success": words})
    except KeywordsError:
        return  # lone surrogates are refused, and that is tested above
    assert normalize_keywords(once) == once
