"""Metric alarms: the state AWS starts them in and keeps across updates, and their history."""

import functools
import json
from typing import Any

from emulator.patching import replace


def alarms_start_in_insufficient_data() -> None:
    """A new metric alarm starts in INSUFFICIENT_DATA on AWS (moto: OK, so a DLQ alarm looked
    checked and fine before anything was evaluated); PutMetricAlarm on an existing alarm replaces
    its configuration and keeps its state (moto: starts it afresh)."""
    from moto.cloudwatch.models import CloudWatchBackend

    original = CloudWatchBackend.put_metric_alarm

    @functools.wraps(original)
    def put_metric_alarm(self: CloudWatchBackend, name: str, *args: Any, **kwargs: Any) -> Any:
        previous = self.alarms.get(name)
        alarm = original(self, name, *args, **kwargs)
        if previous is None:
            alarm.state_value = "INSUFFICIENT_DATA"
        else:
            for kept in (
                "state_value",
                "state_reason",
                "state_reason_data",
                "state_updated_timestamp",
                "history",
            ):
                setattr(alarm, kept, getattr(previous, kept))
        return alarm

    replace(CloudWatchBackend, "put_metric_alarm", put_metric_alarm)


HISTORY_KEPT = 100  # per alarm, newest first (AWS keeps 30 days)


def alarm_history_as_aws_keeps_it() -> None:
    """Every state change (the evaluator's, or SetAlarmState's) goes into the alarm's history as
    AWS records it, and DescribeAlarmHistory (which moto lacks) answers it."""
    import datetime

    from moto.cloudwatch.models import Alarm, CloudWatchBackend
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.core.responses import ActionResult

    def update_state(self: Alarm, reason: str, reason_data: str, state_value: str) -> None:
        old = {"stateValue": self.state_value, "stateReason": self.state_reason}
        self.state_reason, self.state_reason_data, self.state_value = reason, reason_data, state_value
        self.state_updated_timestamp = datetime.datetime.now(datetime.UTC)
        new: dict[str, Any] = {"stateValue": state_value, "stateReason": reason}
        if reason_data:
            new["stateReasonData"] = json.loads(reason_data)
        item = {
            "AlarmName": self.name,
            "AlarmType": "CompositeAlarm" if self.rule else "MetricAlarm",
            "Timestamp": self.state_updated_timestamp,
            "HistoryItemType": "StateUpdate",
            "HistorySummary": f"Alarm updated from {old['stateValue']} to {state_value}",
            "HistoryData": json.dumps({"version": "1.0", "oldState": old, "newState": new}),
        }
        self.history = [item, *[h for h in self.history if isinstance(h, dict)]][:HISTORY_KEPT]

    replace(Alarm, "update_state", update_state)

    def describe_alarm_history(self: CloudWatchResponse) -> ActionResult:
        backend: CloudWatchBackend = self.cloudwatch_backend
        name = self._get_param("AlarmName")
        kind = self._get_param("HistoryItemType")
        start, end = (_aware(self._get_param(name)) for name in ("StartDate", "EndDate"))
        items = [
            item
            for alarm in backend.alarms.values()
            if name in (None, alarm.name)
            for item in alarm.history
            if isinstance(item, dict)
            and kind in (None, item["HistoryItemType"])
            and (start is None or item["Timestamp"] >= start)
            and (end is None or item["Timestamp"] <= end)
        ]
        items.sort(
            key=lambda item: item["Timestamp"], reverse=self._get_param("ScanBy") != "TimestampAscending"
        )
        return ActionResult({"AlarmHistoryItems": items[: int(self._get_param("MaxRecords") or 100)]})

    replace(CloudWatchResponse, "describe_alarm_history", describe_alarm_history)


def _aware(moment: Any) -> Any:
    """A request's date as an aware UTC datetime (None stays None)."""
    import datetime

    if isinstance(moment, str):
        moment = datetime.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if isinstance(moment, datetime.datetime) and moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment
