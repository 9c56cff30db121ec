"""The stack grown as docs/extending.md walks it, one step at a time: context extensionStep=N
applies steps 1..N (0, the default, is the stack as shipped). The e2e suite deploys each step
onto a running workspace (e2e/test_extending.py); a user copies a step into stack.py instead."""

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from orders_infra.api import OrdersApi
from orders_infra.functions import OrdersFunction, OrdersFunctions
from orders_infra.monitoring import OrdersMonitoring
from orders_infra.settings import Settings

STEPS = 4
BY_CURRENCY = "byCurrency"  # step 2's index: orders of one currency, newest first


class OrdersExtension(Construct):
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
        step = settings.extension_step
        v2 = apigwv2.PayloadFormatVersion.VERSION_2_0

        def function(
            name: str, handler: str, description: str, environment: dict[str, str]
        ) -> OrdersFunction:
            return OrdersFunction(
                self, name, settings=settings, code=functions.code, layers=functions.layers, handler=handler,
                description=description, timeout=settings.api_timeout, environment=environment,
            )  # fmt: skip

        # Step 1: a function, its route and exactly the grant it needs
        cancel = function(
            "CancelOrder",
            "cancel_order.handler",
            "POST /orders/{orderId}/cancel",
            {"TABLE_NAME": table.table_name},
        )
        cancel.role.add_to_policy(
            iam.PolicyStatement(actions=["dynamodb:UpdateItem"], resources=[table.table_arn])
        )
        api.http_api.add_routes(
            path="/orders/{orderId}/cancel",
            methods=[apigwv2.HttpMethod.POST],
            integration=HttpLambdaIntegration("CancelOrder", cancel.function, payload_format_version=v2),
        )
        if step < 2:
            return

        # Step 2: an index on the orders table, a function that queries it, and an output
        table.add_global_secondary_index(
            index_name=BY_CURRENCY,
            partition_key=dynamodb.Attribute(name="currency", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="createdAt", type=dynamodb.AttributeType.STRING),
        )
        lister = function(
            "ListOrders", "list_orders.handler", "GET /orders?currency=...",
            {"TABLE_NAME": table.table_name, "INDEX_NAME": BY_CURRENCY},
        )  # fmt: skip
        lister.role.add_to_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"], resources=[f"{table.table_arn}/index/{BY_CURRENCY}"]
            )
        )
        api.http_api.add_routes(
            path="/orders",
            methods=[apigwv2.HttpMethod.GET],
            integration=HttpLambdaIntegration("ListOrders", lister.function, payload_format_version=v2),
        )
        cdk.CfnOutput(cdk.Stack.of(self), "OrdersByCurrencyIndex", value=BY_CURRENCY)
        if step < 3:
            return

        # Step 3: a table of its own, written by the step 1 function
        cancellations = dynamodb.Table(
            self,
            "CancellationsTable",
            partition_key=dynamodb.Attribute(name="orderId", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=settings.removal_policy,
        )
        cancel.function.add_environment("CANCELLATIONS_TABLE", cancellations.table_name)
        cancel.role.add_to_policy(
            iam.PolicyStatement(actions=["dynamodb:PutItem"], resources=[cancellations.table_arn])
        )
        cdk.CfnOutput(cdk.Stack.of(self), "CancellationsTableName", value=cancellations.table_name)
        if step < 4:
            return

        # Step 4: an alarm on the new function and a dashboard widget for it
        monitoring.alarm(
            "CancelOrderErrors",
            cancel.function.metric_errors(
                period=settings.alarm_period or cdk.Duration.minutes(5), statistic="Sum"
            ),
            1,
            "CancelOrder raised errors",
        )
        monitoring.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Cancellations",
                left=[cancel.function.metric_invocations(), cancel.function.metric_errors()],
            )
        )
