"""An event source mapping's FilterCriteria, as Lambda applies them: a record is delivered when
any filter's pattern (EventBridge's pattern syntax, matched by moto's matcher) matches the record
as the function would receive it, an SQS message's JSON body read as JSON. A record no filter
matches is not delivered: Lambda deletes such an SQS message and moves a stream past it."""

import contextlib
import functools
import json
from typing import Any


@functools.lru_cache(maxsize=256)
def _pattern(text: str) -> Any:
    from moto.events.models import EventPattern

    return EventPattern.load(text)


def patterns(filter_criteria: dict[str, Any] | None) -> list[str]:
    return [f["Pattern"] for f in (filter_criteria or {}).get("Filters", []) if f.get("Pattern")]


def wanted(record: dict[str, Any], filter_criteria: dict[str, Any] | None) -> bool:
    found = patterns(filter_criteria)
    if not found:
        return True
    subject = record
    if isinstance(record.get("body"), str):  # SQS: a JSON body is matched as JSON
        with contextlib.suppress(ValueError):
            subject = {**record, "body": json.loads(record["body"])}
    return any(_pattern(text).matches_event(subject) for text in found)
