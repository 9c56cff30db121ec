"""CloudWatch's embedded metric format: a log line that is a JSON object with an `_aws` member
becomes metrics, as CloudWatch Logs extracts them on AWS (Powertools Metrics writes such lines).

A line that is not valid EMF stays a log line; why its metrics were not extracted is reported,
as CloudWatch does not (it drops them silently), so a mistake in a handler is found locally.
"""

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EmfMetric:
    namespace: str
    name: str
    values: tuple[float, ...]
    unit: str
    dimensions: tuple[tuple[str, str], ...]
    timestamp_ms: int | None


class NotEmf(ValueError):
    """The line looks like EMF (has `_aws`) but breaks the specification: the message says how."""


def looks_like_emf(line: str) -> bool:
    return line.startswith("{") and '"_aws"' in line


def metrics_of(line: str) -> list[EmfMetric]:
    """The metrics an EMF line carries (one per metric and dimension set); NotEmf if it is broken."""
    try:
        document = json.loads(line)
    except ValueError as error:
        raise NotEmf(f"not JSON: {error}") from error
    aws = document.get("_aws") if isinstance(document, dict) else None
    if not isinstance(aws, dict) or not isinstance(aws.get("CloudWatchMetrics"), list):
        raise NotEmf("_aws.CloudWatchMetrics must be a list")
    timestamp = aws.get("Timestamp")
    if timestamp is not None and not isinstance(timestamp, int):
        raise NotEmf("_aws.Timestamp must be milliseconds since the epoch")
    found: list[EmfMetric] = []
    for directive in aws["CloudWatchMetrics"]:
        found.extend(_directive(document, directive, timestamp))
    return found


def _directive(document: dict[str, Any], directive: Any, timestamp: int | None) -> list[EmfMetric]:
    if not isinstance(directive, dict) or not isinstance(directive.get("Namespace"), str):
        raise NotEmf("each CloudWatchMetrics entry needs a Namespace string")
    dimension_sets = directive.get("Dimensions", [[]])
    if not isinstance(dimension_sets, list) or not all(isinstance(s, list) for s in dimension_sets):
        raise NotEmf("Dimensions must be a list of lists of dimension names")
    metrics = directive.get("Metrics")
    if not isinstance(metrics, list):
        raise NotEmf("Metrics must be a list")
    found = []
    for dimension_names in dimension_sets:
        missing = [n for n in dimension_names if not isinstance(document.get(n), str)]
        if missing:
            raise NotEmf(f"dimension {missing[0]!r} has no string value in the line")
        dimensions = tuple(sorted((n, document[n]) for n in dimension_names))
        for metric in metrics:
            name = metric.get("Name") if isinstance(metric, dict) else None
            if not isinstance(name, str):
                raise NotEmf("each metric needs a Name")
            found.append(
                EmfMetric(
                    directive["Namespace"],
                    name,
                    _values(document.get(name), name),
                    str(metric.get("Unit") or "None"),
                    dimensions,
                    timestamp,
                )
            )
    return found


def _values(value: Any, name: str) -> tuple[float, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in items):
        raise NotEmf(f"metric {name!r} needs a number (or a list of numbers) in the line")
    return tuple(float(v) for v in items)
