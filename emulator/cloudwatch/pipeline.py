"""The pipeline at a glance: a dashboard of whatever is deployed, written as a DashboardBody's
widgets (so the console draws it as it draws the stack's own, with CloudWatch's semantics) and
built afresh on every request from what the services hold:

  per HTTP API      requests, 4xx and 5xx (AWS/ApiGateway)
  queues            depth and the oldest message's age (AWS/SQS); dead-letter queues apart
  tables            the items each holds, now
  per function      invocations, errors, throttles, p95 duration (AWS/Lambda)
"""

from typing import Any

WIDTH, HEIGHT = 12, 6
MINUTE = 60


def _metric(title: str, rows: list[list[Any]]) -> dict[str, Any]:
    return {"type": "metric", "properties": {"title": title, "view": "timeSeries", "metrics": rows}}


def _row(namespace: str, name: str, dimension: str, value: str, stat: str, **options: Any) -> list[Any]:
    return [namespace, name, dimension, value, {"stat": stat, "period": MINUTE, **options}]


def _tables(account: str, region: str) -> dict[str, Any] | None:
    from moto.dynamodb.models import dynamodb_backends

    tables = dynamodb_backends[account][region].tables
    if not tables:
        return None
    lines = "\n".join(f"{name}: {len(table)} items" for name, table in sorted(tables.items()))
    return {"type": "text", "properties": {"title": "Tables (items now)", "markdown": lines}}


def widgets(account: str, region: str) -> list[dict[str, Any]]:
    from moto.apigatewayv2.models import apigatewayv2_backends
    from moto.awslambda.models import lambda_backends
    from moto.sqs.models import sqs_backends

    found: list[dict[str, Any]] = []
    for api in apigatewayv2_backends[account][region].apis.values():
        rows = [_row("AWS/ApiGateway", "Count", "ApiId", api.api_id, "Sum", label=f"{api.name} requests")]
        rows += [
            _row("AWS/ApiGateway", code, "ApiId", api.api_id, "Sum", yAxis="right") for code in ("4xx", "5xx")
        ]
        found.append(_metric(f"API {api.name}: requests, 4xx and 5xx", rows))
    queues = sqs_backends[account][region].queues
    dead_letter = {
        str((queue.redrive_policy or {}).get("deadLetterTargetArn"))
        for queue in queues.values()
        if queue.redrive_policy
    }
    working = [q for q in queues.values() if q.queue_arn not in dead_letter]
    if working:
        rows = [
            _row("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.name, "Maximum")
            for q in working
        ]
        rows += [
            _row("AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q.name, "Maximum", yAxis="right")
            for q in working
        ]
        found.append(_metric("Queues: depth, and the oldest message's age (right, s)", rows))
    dlqs = [q for q in queues.values() if q.queue_arn in dead_letter]
    if dlqs:
        rows = [
            _row("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.name, "Maximum")
            for q in dlqs
        ]
        found.append(_metric("Dead-letter queues: depth", rows))
    tables = _tables(account, region)
    if tables is not None:
        found.append(tables)
    for fn in sorted(lambda_backends[account][region].list_functions(), key=lambda f: f.function_name):
        name = fn.function_name
        rows = [
            _row("AWS/Lambda", metric, "FunctionName", name, "Sum")
            for metric in ("Invocations", "Errors", "Throttles")
        ]
        rows.append(
            _row("AWS/Lambda", "Duration", "FunctionName", name, "p95", yAxis="right", label="Duration p95")
        )
        found.append(_metric(f"{name}: invocations, errors, throttles, p95 duration (right, ms)", rows))
    for index, widget in enumerate(found):
        widget.update(x=(index % 2) * WIDTH, y=(index // 2) * HEIGHT, width=WIDTH, height=HEIGHT)
    return found
