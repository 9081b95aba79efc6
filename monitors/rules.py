"""Alert rules on a finished run's metadata and duration: validation and matching (pure)."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
    "eq": operator.eq,
    "ne": operator.ne,
}
ORDERING_OPERATORS = {"lt", "lte", "gt", "gte"}
MAX_RULES = 50


class RuleError(ValueError):
    """An alert rule that cannot be stored; the message names what is wrong."""


def validate_rules(rules: object) -> list[dict[str, Any]]:
    if not isinstance(rules, list):
        raise RuleError("rules must be a list")
    if len(rules) > MAX_RULES:
        raise RuleError(f"at most {MAX_RULES} rules")
    return [validate_rule(rule, index) for index, rule in enumerate(rules)]


def validate_rule(rule: object, index: int = 0) -> dict[str, Any]:
    where = f"rule {index + 1}"
    if not isinstance(rule, dict) or set(rule) != {"field", "op", "value"}:
        raise RuleError(f'{where}: expected an object with exactly "field", "op" and "value"')
    field, op, value = rule["field"], rule["op"], rule["value"]
    if not isinstance(field, str) or not field or len(field) > 100:
        raise RuleError(f"{where}: field must be a non-empty string")
    if op not in OPERATORS:
        raise RuleError(f"{where}: unknown operator {op!r}; use one of {', '.join(OPERATORS)}")
    if not isinstance(value, int | float | str | bool) or value is None:
        raise RuleError(f"{where}: value must be a number, string or boolean")
    if op in ORDERING_OPERATORS and isinstance(value, bool):
        raise RuleError(f"{where}: {op} needs a number or string, not a boolean")
    if field == "duration_ms" and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise RuleError(f"{where}: duration_ms compares with a number")
    return {"field": field, "op": op, "value": value}


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "string" if isinstance(value, str) else "other"


def rule_matches(rule: Mapping[str, Any], fields: Mapping[str, Any]) -> bool:
    """A missing field or a value of another type never matches."""
    if rule["field"] not in fields:
        return False
    actual, expected = fields[rule["field"]], rule["value"]
    if _kind(actual) != _kind(expected) or _kind(actual) == "other":
        return False
    return OPERATORS[rule["op"]](actual, expected)


def run_fields(meta: Mapping[str, Any], duration_ms: int | None) -> dict[str, Any]:
    fields = dict(meta)
    if duration_ms is not None:
        fields["duration_ms"] = duration_ms
    return fields


def first_matching_rule(
    rules: list[dict[str, Any]], meta: Mapping[str, Any], duration_ms: int | None
) -> dict[str, Any] | None:
    fields = run_fields(meta, duration_ms)
    return next((rule for rule in rules if rule_matches(rule, fields)), None)


def describe_rule_match(rule: Mapping[str, Any], meta: Mapping[str, Any], duration_ms: int | None) -> str:
    """ "records_processed = 0 (rule: eq 0)"."""
    actual = run_fields(meta, duration_ms).get(rule["field"])
    return f"{rule['field']} = {actual} (rule: {rule['op']} {rule['value']})"
