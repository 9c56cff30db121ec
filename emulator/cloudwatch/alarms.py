"""Metric alarms: the state AWS starts them in and keeps across updates."""

import functools
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
