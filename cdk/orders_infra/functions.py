import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from orders_infra.bundling import RUNTIME, dependencies_layer, functions_code, hot_reload_code
from orders_infra.settings import Settings

POWERTOOLS_ENV = {
    "POWERTOOLS_SERVICE_NAME": "orders",
    "POWERTOOLS_METRICS_NAMESPACE": "OrdersPipeline",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}


class OrdersFunction(Construct):
    """One Lambda function with a role of its own (no managed policies) and its own log group."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: Settings,
        code: lambda_.Code,
        layers: list[lambda_.ILayerVersion],
        handler: str,
        description: str,
        timeout: cdk.Duration,
        environment: dict[str, str],
    ) -> None:
        super().__init__(scope, id)
        self.log_group = logs.LogGroup(
            self, "Logs", retention=settings.log_retention, removal_policy=settings.removal_policy
        )
        self.role = iam.Role(self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=settings.architecture,
            handler=handler,
            code=code,
            layers=layers,
            description=description,
            memory_size=settings.memory_size,
            timeout=timeout,
            tracing=lambda_.Tracing.ACTIVE,
            role=self.role,
            log_group=self.log_group,
            environment={**POWERTOOLS_ENV, **environment},
        )
        cdk.Validations.of(self.role).acknowledge(
            cdk.Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="Active tracing adds xray:PutTraceSegments/PutTelemetryRecords, which support no resource-level permissions.",
            )
        )


class OrdersFunctions(Construct):
    """The three handlers; they share one code asset built from functions/."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: Settings,
        table_name: str,
        queue_url: str,
        idempotency_partition: str,
    ) -> None:
        super().__init__(scope, id)
        # shared by every function built from functions/ (docs/extending.md's too)
        self.code = code = hot_reload_code(self) if settings.hot_reload else functions_code()
        self.layers: list[lambda_.ILayerVersion] = (
            [dependencies_layer(self)] if settings.hot_reload else []
        )  # else bundled
        layers = self.layers
        self.create = OrdersFunction(
            self, "CreateOrder", settings=settings, code=code, layers=layers, handler="create_order.handler",
            description="POST /orders: validate and enqueue", timeout=settings.api_timeout,
            environment={
                "TABLE_NAME": table_name, "QUEUE_URL": queue_url, "IDEMPOTENCY_PARTITION": idempotency_partition,
            },
        )  # fmt: skip
        self.process = OrdersFunction(
            self, "ProcessOrder", settings=settings, code=code, layers=layers, handler="process_order.handler",
            description="OrdersQueue consumer: write each order once", timeout=settings.process_timeout,
            environment={"TABLE_NAME": table_name, "QUEUE_URL": queue_url},
        )  # fmt: skip
        self.get = OrdersFunction(
            self, "GetOrder", settings=settings, code=code, layers=layers, handler="get_order.handler",
            description="GET /orders/{orderId}", timeout=settings.api_timeout,
            environment={"TABLE_NAME": table_name},
        )  # fmt: skip

    @property
    def all(self) -> list[OrdersFunction]:
        return [self.create, self.process, self.get]
