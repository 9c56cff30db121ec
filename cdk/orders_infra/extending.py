"""The stack grown as docs/extending.md walks it, one step at a time: context extensionStep=N
applies steps 1..N (0, the default, is the stack as shipped). The e2e suite deploys each step
onto a running workspace (e2e/test_extending.py); a user copies a step into stack.py instead."""

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from orders_infra.api import OrdersApi
from orders_infra.functions import OrdersFunction, OrdersFunctions
from orders_infra.monitoring import OrdersMonitoring
from orders_infra.settings import Settings

BY_CURRENCY = "byCurrency"  # step 2's index: orders of one currency, newest first
SHIPPED = {"source": ["orders.shipping"], "detail-type": ["OrderShipped"]}  # step 6's pattern
IMPORTS_PREFIX = "incoming/"  # step 7: objects under it are recorded
V2 = apigwv2.PayloadFormatVersion.VERSION_2_0


class OrdersExtension(Construct):
    """The walkthrough's steps 1..settings.extension_step, each a method, in order."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: Settings,
        table: dynamodb.Table,
        functions: OrdersFunctions,
        api: OrdersApi,
        monitoring: OrdersMonitoring,
    ) -> None:
        super().__init__(scope, id)
        self.settings, self.table, self.functions, self.api, self.monitoring = (
            settings, table, functions, api, monitoring,
        )  # fmt: skip
        steps = (
            self.step1_cancel_route,
            self.step2_index_and_listing,
            self.step3_cancellations_table,
            self.step4_alarm_and_widget,
            self.step5_stream_to_activity,
            self.step6_event_rules,
            self.step7_imports_bucket,
        )
        for step in steps[: max(1, settings.extension_step)]:
            step()

    def _function(
        self, name: str, handler: str, description: str, environment: dict[str, str]
    ) -> OrdersFunction:
        return OrdersFunction(
            self, name, settings=self.settings, code=self.functions.code, layers=self.functions.layers,
            handler=handler, description=description, timeout=self.settings.api_timeout, environment=environment,
        )  # fmt: skip

    def step1_cancel_route(self) -> None:
        """Step 1: a function, its route and exactly the grant it needs."""
        self.cancel = self._function(
            "CancelOrder",
            "cancel_order.handler",
            "POST /orders/{orderId}/cancel",
            {"TABLE_NAME": self.table.table_name},
        )
        self.cancel.role.add_to_policy(
            iam.PolicyStatement(actions=["dynamodb:UpdateItem"], resources=[self.table.table_arn])
        )
        self.api.http_api.add_routes(
            path="/orders/{orderId}/cancel",
            methods=[apigwv2.HttpMethod.POST],
            integration=HttpLambdaIntegration("CancelOrder", self.cancel.function, payload_format_version=V2),
        )

    def step2_index_and_listing(self) -> None:
        """Step 2: an index on the orders table, a function that queries it, and an output."""
        self.table.add_global_secondary_index(
            index_name=BY_CURRENCY,
            partition_key=dynamodb.Attribute(name="currency", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="createdAt", type=dynamodb.AttributeType.STRING),
        )
        lister = self._function(
            "ListOrders", "list_orders.handler", "GET /orders?currency=...",
            {"TABLE_NAME": self.table.table_name, "INDEX_NAME": BY_CURRENCY},
        )  # fmt: skip
        lister.role.add_to_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"], resources=[f"{self.table.table_arn}/index/{BY_CURRENCY}"]
            )
        )
        self.api.http_api.add_routes(
            path="/orders",
            methods=[apigwv2.HttpMethod.GET],
            integration=HttpLambdaIntegration("ListOrders", lister.function, payload_format_version=V2),
        )
        cdk.CfnOutput(cdk.Stack.of(self), "OrdersByCurrencyIndex", value=BY_CURRENCY)

    def step3_cancellations_table(self) -> None:
        """Step 3: a table of its own, written by the step 1 function."""
        cancellations = dynamodb.Table(
            self,
            "CancellationsTable",
            partition_key=dynamodb.Attribute(name="orderId", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=self.settings.removal_policy,
        )
        self.cancel.function.add_environment("CANCELLATIONS_TABLE", cancellations.table_name)
        self.cancel.role.add_to_policy(
            iam.PolicyStatement(actions=["dynamodb:PutItem"], resources=[cancellations.table_arn])
        )
        cdk.CfnOutput(cdk.Stack.of(self), "CancellationsTableName", value=cancellations.table_name)

    def step4_alarm_and_widget(self) -> None:
        """Step 4: an alarm on the new function and a dashboard widget for it."""
        self.monitoring.alarm(
            "CancelOrderErrors",
            self.cancel.function.metric_errors(
                period=self.settings.alarm_period or cdk.Duration.minutes(5), statistic="Sum"
            ),
            1,
            "CancelOrder raised errors",
        )
        self.monitoring.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Cancellations",
                left=[self.cancel.function.metric_invocations(), self.cancel.function.metric_errors()],
            )
        )

    def step5_stream_to_activity(self) -> None:
        """Step 5: every change to an order, from the table's stream (database.py turns it on), recorded in an activity table by a function of its own."""
        activity = dynamodb.Table(
            self,
            "ActivityTable",
            partition_key=dynamodb.Attribute(name="source", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=self.settings.removal_policy,
        )
        self.recorder = self._function(
            "RecordActivity", "record_activity.handler", "Records what the triggers report",
            {"ACTIVITY_TABLE": activity.table_name},
        )  # fmt: skip
        activity.grant(self.recorder.role, "dynamodb:PutItem", "dynamodb:BatchWriteItem")
        self.recorder.function.add_event_source(
            event_sources.DynamoEventSource(
                self.table,
                starting_position=lambda_.StartingPosition.LATEST,
                batch_size=10,
                bisect_batch_on_error=True,
                retry_attempts=2,
                report_batch_item_failures=True,
            )
        )
        cdk.CfnOutput(cdk.Stack.of(self), "ActivityTableName", value=activity.table_name)

    def step6_event_rules(self) -> None:
        """Step 6: EventBridge: events matching a pattern, and a schedule (`make fire RULE=...` fires it now on the local workspace)."""
        shipped = events.Rule(self, "OrderShipped", event_pattern=events.EventPattern(
            source=SHIPPED["source"], detail_type=SHIPPED["detail-type"]
        ))  # fmt: skip
        shipped.add_target(targets.LambdaFunction(self.recorder.function, retry_attempts=2))
        nightly = events.Rule(self, "NightlyReport", schedule=events.Schedule.cron(hour="3", minute="0"))
        nightly.add_target(targets.LambdaFunction(self.recorder.function))
        cdk.CfnOutput(cdk.Stack.of(self), "NightlyReportRule", value=nightly.rule_name)

    def step7_imports_bucket(self) -> None:
        """Step 7: a bucket whose new objects under incoming/ are recorded."""
        imports = s3.Bucket(
            self,
            "ImportsBucket",
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            removal_policy=self.settings.removal_policy,
        )
        imports.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.LambdaDestination(self.recorder.function),
            s3.NotificationKeyFilter(prefix=IMPORTS_PREFIX),
        )
        cdk.Validations.of(imports).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-S1",
                reason="The walkthrough's bucket holds a learner's sample imports; give it server_access_logs_bucket for real data.",
            )
        )
        stack = cdk.Stack.of(self)
        for handler in stack.node.children:  # CDK's one function that writes every bucket's notifications
            if handler.node.id.startswith("BucketNotificationsHandler"):
                cdk.Validations.of(handler).acknowledge(
                    cdk.Acknowledgment(
                        id="AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
                        reason="aws-cdk-lib's own notifications handler; its role is not ours to shape (logs only).",
                    )
                )
        cdk.CfnOutput(stack, "ImportsBucketName", value=imports.bucket_name)
