"""AWS/SQS's metrics: counted where the store and moto's backend see them (`store.install`
calls `queue_metric`), and the queue gauges sampled (`sample_queue_metrics`)."""

from moto.sqs.models import Queue

from emulator.cloudwatch.metrics import MetricRecorder
from emulator.wiring import wired


def queue_metric(queue: Queue, name: str, value: float, unit: str = "Count") -> None:
    """Counted inside moto's SQS backend: recorded where the running emulator records."""
    queue_metrics(wired().recorder, queue, [(name, value, unit)])


def queue_metrics(recorder: MetricRecorder, queue: Queue, values: list[tuple[str, float, str]]) -> None:
    """(name, value, unit)s of one queue, recorded at once under AWS/SQS and its QueueName."""
    per_queue = (("QueueName", queue.name),)
    recorder.record_all(
        queue.account_id,
        queue.region,
        "AWS/SQS",
        [(name, value, unit, per_queue) for name, value, unit in values],
    )


def sample_queue_metrics(recorder: MetricRecorder, account_id: str) -> None:
    """The queue gauges SQS publishes every minute (the emulator samples them every few seconds)."""
    from emulator.sqs.store import stores  # here: the store counts with queue_metric

    for queue, store in stores(account_id):
        visible, in_flight, delayed = store.counts()
        queue_metrics(
            recorder,
            queue,
            [
                ("ApproximateNumberOfMessagesVisible", visible, "Count"),
                ("ApproximateNumberOfMessagesNotVisible", in_flight, "Count"),
                ("ApproximateNumberOfMessagesDelayed", delayed, "Count"),
                ("ApproximateAgeOfOldestMessage", store.oldest_age_seconds(), "Seconds"),
            ],
        )
