import aws_cdk as cdk
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from orders_infra.settings import Settings


class OrdersMessaging(Construct):
    """OrdersQueue and its dead-letter queue, encrypted (SSE-SQS) and TLS-only."""

    def __init__(self, scope: Construct, id: str, *, settings: Settings) -> None:
        super().__init__(scope, id)
        self.dlq = sqs.Queue(
            self,
            "OrdersDlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),  # the maximum: time to inspect and redrive
            removal_policy=settings.removal_policy,
        )
        self.queue = sqs.Queue(
            self,
            "OrdersQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=settings.queue_visibility,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dlq, max_receive_count=settings.max_receive_count
            ),
            removal_policy=settings.removal_policy,
        )
