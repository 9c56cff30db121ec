"""IAM's evaluation of identity-based policies, as AWS documents it: an explicit Deny wins, then an
Allow, else the request is implicitly denied.

A statement applies when its Action (or NotAction) matches the action, its Resource (or
NotResource) matches the resource, and every condition holds. Actions match case-insensitively
with `*` and `?`; resources case-sensitively. Conditions: the String*, Arn*, Bool and Null
operators, their `IfExists` forms, and the `ForAllValues:` / `ForAnyValue:` set prefixes (a
ForAllValues condition on a key the request does not carry holds, as on AWS).

moto's own evaluator (moto.iam.access_control) knows only StringEquals among the operators and
none of the set prefixes, which the stack's idempotency grant (ForAllValues:StringEquals on
dynamodb:LeadingKeys) needs: hence this one.
"""

import fnmatch
import functools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    action: str  # service:Action
    resource: str  # an ARN, or "*"
    context: dict[str, tuple[str, ...]] = field(default_factory=dict)  # condition keys, lower-case


@dataclass(frozen=True)
class Decision:
    allowed: bool
    explicit_deny: bool = False


@functools.lru_cache(maxsize=4096)
def _pattern(text: str, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(text), re.IGNORECASE if ignore_case else 0)


def matches(patterns: Iterable[str], value: str, ignore_case: bool) -> bool:
    return any(_pattern(p, ignore_case).match(value) for p in patterns)


def _listed(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _string_equals(values: list[str], actual: str) -> bool:
    return actual in values


def _string_like(values: list[str], actual: str) -> bool:
    return matches(values, actual, ignore_case=False)


OPERATORS: dict[str, Callable[[list[str], str], bool]] = {
    "StringEquals": _string_equals,
    "StringNotEquals": lambda values, actual: not _string_equals(values, actual),
    "StringEqualsIgnoreCase": lambda values, actual: actual.lower() in [v.lower() for v in values],
    "StringNotEqualsIgnoreCase": lambda values, actual: actual.lower() not in [v.lower() for v in values],
    "StringLike": _string_like,
    "StringNotLike": lambda values, actual: not _string_like(values, actual),
    "ArnEquals": _string_like,  # ARN operators accept wildcards in each segment
    "ArnLike": _string_like,
    "ArnNotEquals": lambda values, actual: not _string_like(values, actual),
    "ArnNotLike": lambda values, actual: not _string_like(values, actual),
    "Bool": lambda values, actual: actual.lower() in [v.lower() for v in values],
}
NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


class UnsupportedCondition(ValueError):
    pass


def condition_holds(operator: str, key: str, expected: Any, context: dict[str, tuple[str, ...]]) -> bool:
    values = _listed(expected)
    actual = context.get(key.lower())
    if operator == "Null":  # "true": the key must be absent
        return (actual is None) == (values[0].lower() == "true")
    prefix, _, name = operator.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    test = OPERATORS.get(name)
    if test is None:
        raise UnsupportedCondition(f"condition operator {operator} is not supported locally")
    if prefix == "ForAllValues":  # every value the request carries must match (none: holds)
        return all(test(values, a) for a in actual or ())
    if prefix == "ForAnyValue":
        return any(test(values, a) for a in actual or ())
    if actual is None:
        return if_exists or name in NEGATED
    return all(test(values, a) for a in actual) if name in NEGATED else any(test(values, a) for a in actual)


def statement_applies(statement: dict[str, Any], request: Request) -> bool:
    if "Action" in statement:
        action_ok = matches(_listed(statement["Action"]), request.action, ignore_case=True)
    else:
        action_ok = not matches(_listed(statement.get("NotAction", [])), request.action, ignore_case=True)
    if "Resource" in statement:
        resource_ok = matches(_listed(statement["Resource"]), request.resource, ignore_case=False)
    else:
        resource_ok = not matches(
            _listed(statement.get("NotResource", [])), request.resource, ignore_case=False
        )
    if not (action_ok and resource_ok):
        return False
    conditions = statement.get("Condition") or {}
    return all(
        condition_holds(operator, key, expected, request.context)
        for operator, pairs in conditions.items()
        for key, expected in pairs.items()
    )


def statements(document: str | dict[str, Any]) -> list[dict[str, Any]]:
    parsed = json.loads(document) if isinstance(document, str) else document
    found = parsed.get("Statement", [])
    return [found] if isinstance(found, dict) else list(found)


def decide(documents: Iterable[str | dict[str, Any]], request: Request) -> Decision:
    allowed = False
    for document in documents:
        for statement in statements(document):
            if not statement_applies(statement, request):
                continue
            if statement.get("Effect") == "Deny":
                return Decision(allowed=False, explicit_deny=True)
            allowed = allowed or statement.get("Effect") == "Allow"
    return Decision(allowed=allowed)
