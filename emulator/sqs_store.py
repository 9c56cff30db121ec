"""Thread safety for moto's SQS queues (placeholder for the indexed store)."""


def install() -> None:
    pass
