"""The monitor form's parsing of rule values (monitors.monitor_forms): what a person types in a
rule row's value box becomes the API's number, boolean or text, and shows the same again."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitors.monitor_forms import rule_value, rule_value_text


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("0", 0),
        (" 2.5 ", 2.5),
        ("-3", -3),
        ("true", True),
        ("false", False),
        ("staging", "staging"),
        ('"42"', "42"),
        ('"true"', "true"),
        ("null", "null"),
        ("[1]", "[1]"),
        ("", ""),
    ],
)
def test_a_typed_value_becomes_a_number_a_boolean_or_text(typed: str, value: object) -> None:
    assert rule_value(typed) == value
    assert type(rule_value(typed)) is type(value)


@given(
    st.one_of(
        st.integers(),
        st.booleans(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(),
    )
)
def test_a_stored_value_shows_as_text_that_reads_back_the_same(value: object) -> None:
    shown = rule_value_text(value)
    assert rule_value(shown) == value
    assert type(rule_value(shown)) is type(value)
