"""Scheduled rules fire on time: `rate(5 minutes)` every five minutes from when the emulator first
saw the rule, `cron(0 3 * * ? *)` at each time the expression names (AWS's six fields, UTC,
computed by pyawscron). Each firing sends the rule's targets the "Scheduled Event" AWS sends.

`fire` fires a rule now, so that a test or a learner does not wait for 3 a.m.:
`make fire RULE=<name>` or `POST /_emulator/events/fire {"rule": "<name>"}`.
"""

import json
import logging
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from emulator.events import targets
from emulator.http import Response, json_response

log = logging.getLogger("emulator.events")

FIRE_PATH = "/_emulator/events/fire"
RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
UNITS = {"minute": 60, "hour": 3600, "day": 86400}


def next_time(expression: str, after: datetime) -> datetime | None:
    """When `expression` fires next after `after`; None when it never does."""
    rate = RATE.match(expression)
    if rate:
        return after + timedelta(seconds=int(rate.group(1)) * UNITS[rate.group(2).rstrip("s")])
    if expression.startswith("cron(") and expression.endswith(")"):
        from pyawscron import AWSCron

        following: datetime | None = AWSCron(expression[5:-1]).occurrence(after).next()
        return following
    return None


def invalid(expression: str) -> str | None:
    """Why the embedded emulator cannot schedule `expression`, or None."""
    try:
        if next_time(expression, datetime.now(UTC)) is None:
            return "not a rate(...) or cron(...) expression"
    except Exception as error:  # pyawscron's parse errors
        return f"{type(error).__name__}: {error}"
    return None


def _scheduled_rules(account_id: str) -> list[Any]:
    from moto.events.models import events_backends

    return [
        rule
        for backend in list(events_backends[account_id].values())
        for bus in list(backend.event_buses.values())
        for rule in list(bus.rules.values())
        if rule.scheduled_expression
    ]


class Schedules:
    """Fires every ENABLED scheduled rule of the account when it is due (a thread, once a second)."""

    def __init__(self, account_id: str, default_region: str) -> None:
        self.account_id, self.default_region = account_id, default_region
        self._due: dict[tuple[str, str], datetime] = {}  # (rule ARN, expression) -> next firing
        self._stop = threading.Event()

    def start(self) -> "Schedules":
        threading.Thread(target=self._loop, name="events-schedules", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.tick(datetime.now(UTC))
            except Exception:  # a background thread: say what failed, keep the schedules running
                log.exception("firing scheduled rules failed")

    def tick(self, now: datetime) -> list[str]:
        """Fire what is due at `now`; the ARNs of the rules fired."""
        fired, seen = [], set()
        for rule in _scheduled_rules(self.account_id):
            key = (rule.arn, rule.scheduled_expression)
            seen.add(key)
            due = self._due.get(key)
            if due is None:  # first seen: its first firing is the next one from now
                self._due[key] = next_time(rule.scheduled_expression, now) or datetime.max.replace(tzinfo=UTC)
                continue
            if now >= due:
                self._due[key] = next_time(rule.scheduled_expression, now) or datetime.max.replace(tzinfo=UTC)
                if rule.state == "ENABLED":
                    self.fire(rule)
                    fired.append(rule.arn)
        for gone in set(self._due) - seen:
            del self._due[gone]
        return fired

    def fire(self, rule: Any) -> int:
        """Send `rule`'s targets its Scheduled Event now; how many got it."""
        event = targets.scheduled_event(rule)
        delivered = targets.deliver(rule, event)
        log.info("rule %s fired (%s): %d of %d targets", rule.name, rule.scheduled_expression, delivered,
                 len(rule.targets))  # fmt: skip
        return delivered

    def fire_request(self, environ: dict[str, Any]) -> Response | None:
        """POST /_emulator/events/fire {"rule": name, "eventBusName"?: name, "region"?: region}."""
        if environ.get("PATH_INFO") != FIRE_PATH:
            return None
        if environ.get("REQUEST_METHOD") != "POST":
            return json_response(405, b'{"message": "POST {\\"rule\\": \\"<name>\\"}"}')
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            asked = json.loads(environ["wsgi.input"].read(length) or b"{}")
            name = asked["rule"]
        except (ValueError, KeyError, TypeError):
            return json_response(400, b'{"message": "the body must be {\\"rule\\": \\"<name>\\"}"}')
        region = asked.get("region") or self.default_region
        bus = asked.get("eventBusName") or "default"
        from moto.events.models import events_backends

        rule = events_backends[self.account_id][region].event_buses.get(bus)
        found = rule.rules.get(name) if rule else None
        if found is None:
            message = {"message": f"no rule {name} on event bus {bus} in {region}"}
            return json_response(404, json.dumps(message).encode())
        delivered = self.fire(found)
        answer = {"rule": found.arn, "targets": len(found.targets), "delivered": delivered}
        return json_response(200, json.dumps(answer).encode())


def install() -> None:
    """PutRule refuses a schedule the emulator could not keep (moto checked the prefix only)."""
    from moto.events.exceptions import ValidationException
    from moto.events.models import EventsBackend

    from emulator.patching import replace

    moto_put_rule = EventsBackend.put_rule

    def put_rule(self: EventsBackend, name: str, *args: Any, **kwargs: Any) -> Any:
        expression = kwargs.get("scheduled_expression")
        why = invalid(expression) if expression else None
        if why is not None:
            raise ValidationException(f"Parameter ScheduleExpression is not valid: {expression} ({why}).")
        return moto_put_rule(self, name, *args, **kwargs)

    replace(EventsBackend, "put_rule", put_rule)
