from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as event_sources
from constructs import Construct

from orders_infra.api import OrdersApi
from orders_infra.database import OrdersDatabase
from orders_infra.extending import OrdersExtension
from orders_infra.functions import OrdersFunctions
from orders_infra.messaging import OrdersMessaging
from orders_infra.monitoring import OrdersMonitoring
from orders_infra.nag import acknowledge_justified_findings
from orders_infra.settings import Settings

# The only table partition CreateOrder may touch (its idempotency records); it gets the value as
# IDEMPOTENCY_PARTITION, so the grant and the code cannot drift apart.
IDEMPOTENCY_PK = "IDEMPOTENCY#create_order"


class OrdersStack(cdk.Stack):
    """API -> create -> OrdersQueue (+DLQ) -> process -> OrdersTable; get reads the table."""

    def __init__(self, scope: Construct, id: str, *, settings: Settings, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        database = OrdersDatabase(self, "Database", settings=settings)
        messaging = OrdersMessaging(self, "Messaging", settings=settings)
        functions = OrdersFunctions(
            self,
            "Functions",
            settings=settings,
            table_name=database.table.table_name,
            queue_url=messaging.queue.queue_url,
            idempotency_partition=IDEMPOTENCY_PK,
        )
        api = OrdersApi(
            self,
            "Api",
            settings=settings,
            create_function=functions.create.function,
            get_function=functions.get.function,
        )
        monitoring = OrdersMonitoring(
            self,
            "Monitoring",
            settings=settings,
            functions=functions.all,
            queue=messaging.queue,
            dlq=messaging.dlq,
            api=api,
        )
        self._least_privilege(settings, database, messaging, functions)
        self._outputs(database, messaging, functions, api, monitoring)
        if settings.extension_step:  # docs/extending.md, as far as the context says
            OrdersExtension(
                self, "Extension", settings=settings, table=database.table, functions=functions, api=api,
                monitoring=monitoring,
            )  # fmt: skip
        acknowledge_justified_findings(self)

    def _least_privilege(
        self,
        settings: Settings,
        database: OrdersDatabase,
        messaging: OrdersMessaging,
        functions: OrdersFunctions,
    ) -> None:
        """Written out, so the template shows exactly what each function may do."""
        table_arn = database.table.table_arn
        functions.create.role.add_to_policy(
            iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[messaging.queue.queue_arn])
        )
        functions.create.role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                ],
                resources=[table_arn],
                conditions={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [IDEMPOTENCY_PK]}},
            )
        )
        functions.process.role.add_to_policy(
            iam.PolicyStatement(actions=["dynamodb:PutItem"], resources=[table_arn])
        )
        functions.get.role.add_to_policy(
            iam.PolicyStatement(actions=["dynamodb:GetItem"], resources=[table_arn])
        )
        # The event source mapping grants the consumer its SQS rights (receive, delete, change visibility).
        functions.process.function.add_event_source(
            event_sources.SqsEventSource(
                messaging.queue,
                batch_size=settings.batch_size,
                max_batching_window=settings.batching_window
                if settings.batching_window.to_seconds()
                else None,
                report_batch_item_failures=True,
            )
        )

    def _outputs(
        self,
        database: OrdersDatabase,
        messaging: OrdersMessaging,
        functions: OrdersFunctions,
        api: OrdersApi,
        monitoring: OrdersMonitoring,
    ) -> None:
        for name, value in {
            "ApiUrl": api.stage.url,
            "ApiId": api.http_api.api_id,
            "QueueUrl": messaging.queue.queue_url,
            "DlqUrl": messaging.dlq.queue_url,
            "TableName": database.table.table_name,
            "AlarmTopicArn": monitoring.topic.topic_arn,
            "DashboardName": monitoring.dashboard.dashboard_name,
            # where to read logs (`make logs FUNCTION=...`): generated names appear nowhere else
            "CreateOrderLogGroup": functions.create.log_group.log_group_name,
            "ProcessOrderLogGroup": functions.process.log_group.log_group_name,
            "GetOrderLogGroup": functions.get.log_group.log_group_name,
            "ApiAccessLogGroup": api.access_logs.log_group_name,
        }.items():
            cdk.CfnOutput(self, name, value=value)
