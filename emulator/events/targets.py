"""EventBridge delivers an event to a rule's targets as AWS does.

  which rules   an ENABLED rule whose EventPattern matches (moto's matcher: exact, prefix,
                suffix, anything-but, numeric, exists, $or, nested); a rule with only a
                ScheduleExpression matches no put event: it fires on its schedule (schedule.py)
  what is sent  the event in AWS's shape ("time" ISO 8601), or the target's Input (constant
                JSON), InputPath (a part of the event) or InputTransformer
  where         Lambda (invoked asynchronously), SQS and SNS, each resource policy checked for
                events.amazonaws.com and the rule (destinations.py); CloudWatch Logs, other
                event buses and archives through moto's own delivery
  a failure     (refused by the resource policy, target gone) goes to the target's
                DeadLetterConfig queue, else is logged; these failures are not retryable on
                AWS either, so RetryPolicy changes nothing locally

A target of another kind (Kinesis, Step Functions, ECS, ...) is refused when it is put
(PutTargets, and so at deploy time) instead of accepted and never delivered. moto raised
"Expr not defined for Rule" at PutEvents for Lambda and SNS targets.
"""

import copy
import json
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from emulator import arns, destinations
from emulator.patching import original, replace

log = logging.getLogger("emulator.events")

SERVICE = "events.amazonaws.com"
MOTO_DELIVERS = ("logs", "events")  # log groups, event buses, archives: moto's own delivery


def iso_time(value: Any) -> str:
    moment = datetime.fromtimestamp(float(value), UTC) if isinstance(value, int | float) else None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else str(value)


def as_delivered(event: dict[str, Any]) -> dict[str, Any]:
    """The event as a target receives it: without moto's bookkeeping, time in ISO 8601."""
    shown = {key: value for key, value in event.items() if key not in ("ingestion-time",)}
    shown["time"] = iso_time(event.get("time", ""))
    return shown


def target_input(target: dict[str, Any], event: dict[str, Any]) -> str:
    """What the target receives (AWS's order: Input, InputPath, InputTransformer, the event)."""
    if "Input" in target:
        return str(target["Input"])
    if "InputPath" in target:
        from jsonpath_ng.ext import parse

        found = parse(target["InputPath"]).find(event)
        return json.dumps(found[0].value if found else None)
    transformer = target.get("InputTransformer")
    if transformer:
        from moto.events.utils import EventTemplateParser

        with_ingestion_time: Any = {**event, "ingestion-time": time.time()}  # moto's parser reads it
        return json.dumps(
            EventTemplateParser.parse(
                input_template=transformer.get("InputTemplate"),
                input_paths_map=transformer.get("InputPathsMap", {}),
                event=with_ingestion_time,
            )
        )
    return json.dumps(event)


def scheduled_event(rule: Any) -> dict[str, Any]:
    """What a schedule sends its targets when it fires, in moto's form as a put event is (times
    as Unix seconds: `as_delivered` writes them as AWS does)."""
    now = time.time()
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": rule.account_id,
        "time": now,
        "region": rule.region_name,
        "resources": [rule.arn],
        "detail": {},
        "ingestion-time": now,
    }


def deliver(rule: Any, event: dict[str, Any]) -> int:
    """Send `event` to each of `rule`'s targets, matched or not (a schedule's targets are sent
    its Scheduled Event); how many got it."""
    from moto.events.models import Rule

    send_with_moto = original(Rule, "send_to_targets")
    delivered = 0
    for target in list(rule.targets):
        arn = target["Arn"]
        service = arns.parse(arn).service
        if service in MOTO_DELIVERS:
            one = copy.copy(rule)
            one.targets = [target]
            send_with_moto(one, event)
            delivered += 1
            continue
        body = target_input(target, as_delivered(event))
        refused = destinations.send(SERVICE, rule.arn, arn, body)
        if refused is None:
            delivered += 1
            continue
        dead_letter = (target.get("DeadLetterConfig") or {}).get("Arn")
        log.warning("rule %s: event %s not delivered to %s: %s%s", rule.name, event.get("id"), arn, refused,
                    f"; sent to its dead-letter queue {dead_letter}" if dead_letter else "")  # fmt: skip
        if dead_letter:
            lost = destinations.send(SERVICE, rule.arn, dead_letter, body)
            if lost is not None:
                log.error("rule %s: event %s lost: its dead-letter queue refused it too: %s",
                          rule.name, event.get("id"), lost)  # fmt: skip
    return delivered


def unsupported_targets(targets: list[dict[str, Any]]) -> list[str]:
    return [
        t["Arn"]
        for t in targets
        if arns.parse(t["Arn"]).service not in (*destinations.SERVICES, *MOTO_DELIVERS)
    ]


def install() -> None:
    from moto.events.exceptions import ValidationException
    from moto.events.models import EventsBackend, Rule

    moto_put_targets = EventsBackend.put_targets

    def send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
        if self.state != "ENABLED" or not self.event_pattern.get_pattern():
            return  # a disabled rule, or a schedule's: no put event reaches them
        if self.event_pattern.matches_event(original_event):
            deliver(self, dict(original_event))

    def put_targets(
        self: EventsBackend, name: str, event_bus_arn: str | None, targets: list[dict[str, Any]]
    ) -> None:
        refused = unsupported_targets(targets)
        if refused:
            raise ValidationException(
                f"The embedded emulator delivers EventBridge events to Lambda, SQS, SNS, CloudWatch Logs "
                f"and event buses only, not to {', '.join(refused)}"
            )
        moto_put_targets(self, name, event_bus_arn, targets)

    # moto: "Expr not defined for Rule" for Lambda and SNS targets; disabled rules still matched
    replace(Rule, "send_to_targets", send_to_targets)
    replace(EventsBackend, "put_targets", put_targets)
