"""AWS/SQS's metrics: counted where the store and moto's backend see them (`store.install`
calls `queue_metric`), and the queue gauges sampled (`sample_queue_metrics`)."""

from moto.sqs.models import Queue, sqs_backends

from emulator.cloudwatch.metrics import RECORDER


def queue_metric(queue: Queue, name: str, value: float, unit: str = "Count") -> None:
    per_queue = (("QueueName", queue.name),)
    RECORDER.record_all(queue.account_id, queue.region, "AWS/SQS", [(name, value, unit, per_queue)])


def sample_queue_metrics(account_id: str) -> None:
    """The queue gauges SQS publishes every minute (the emulator samples them every few seconds)."""
    from emulator.sqs.store import store_of  # here: the store counts with queue_metric

    for backend in list(sqs_backends[account_id].values()):
        for queue in list(backend.queues.values()):
            store = store_of(queue)
            if store is None:
                continue
            visible, in_flight, delayed = store.counts()
            queue_metric(queue, "ApproximateNumberOfMessagesVisible", visible)
            queue_metric(queue, "ApproximateNumberOfMessagesNotVisible", in_flight)
            queue_metric(queue, "ApproximateNumberOfMessagesDelayed", delayed)
            queue_metric(queue, "ApproximateAgeOfOldestMessage", store.oldest_age_seconds(), "Seconds")
