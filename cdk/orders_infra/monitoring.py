import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from orders_infra.api import OrdersApi
from orders_infra.functions import OrdersFunction
from orders_infra.settings import Settings

ONE_MINUTE = cdk.Duration.minutes(1)
FIVE_MINUTES = cdk.Duration.minutes(5)


class OrdersMonitoring(Construct):
    """Alarms on every failure mode of the pipeline, all to one SNS topic, and a dashboard."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: Settings,
        functions: list[OrdersFunction],
        queue: sqs.IQueue,
        dlq: sqs.IQueue,
        api: OrdersApi,
    ) -> None:
        super().__init__(scope, id)
        self.topic = self._alarm_topic(settings)
        self.alarms: list[cloudwatch.Alarm] = []
        self._alarms(settings, functions, queue, dlq)
        self.dashboard = self._dashboard(functions, queue, dlq, api)

    def _alarm_topic(self, settings: Settings) -> sns.Topic:
        # A customer managed key: CloudWatch cannot publish to a topic under the AWS managed SNS key.
        key = kms.Key(
            self, "AlarmTopicKey", enable_key_rotation=True, removal_policy=settings.removal_policy,
            description="Encrypts the orders alarm topic",
        )  # fmt: skip
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        topic = sns.Topic(self, "AlarmTopic", master_key=key, enforce_ssl=True, display_name="Orders alarms")
        if settings.alarm_email:
            topic.add_subscription(subscriptions.EmailSubscription(settings.alarm_email))
        return topic

    def _alarms(
        self, settings: Settings, functions: list[OrdersFunction], queue: sqs.IQueue, dlq: sqs.IQueue
    ) -> None:
        for fn in functions:
            name = fn.node.id
            self.alarm(
                f"{name}Errors",
                fn.function.metric_errors(period=settings.alarm_period or FIVE_MINUTES, statistic="Sum"),
                1,
                f"{name} raised errors (for ProcessOrder: whole-batch failures)",
            )
            self.alarm(
                f"{name}Throttles",
                fn.function.metric_throttles(period=settings.alarm_period or FIVE_MINUTES, statistic="Sum"),
                1,
                f"{name} was throttled",
            )
        self.alarm(
            "QueueOldestMessageAge",
            queue.metric_approximate_age_of_oldest_message(
                period=settings.alarm_period or ONE_MINUTE, statistic="Maximum"
            ),
            settings.oldest_message_alarm_seconds,
            "Orders wait too long in OrdersQueue: the consumer is failing or falling behind",
        )
        self.alarm(
            "DlqNotEmpty",
            dlq.metric_approximate_number_of_messages_visible(
                period=settings.alarm_period or ONE_MINUTE, statistic="Maximum"
            ),
            1,
            "Messages reached OrdersDlq: see docs/runbook.md",
        )

    def _dashboard(
        self, functions: list[OrdersFunction], queue: sqs.IQueue, dlq: sqs.IQueue, api: OrdersApi
    ) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"{cdk.Stack.of(self).stack_name}-orders"
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API requests and errors",
                left=[api.http_api.metric_count(period=cdk.Duration.minutes(1))],
                right=[api.http_api.metric_client_error(), api.http_api.metric_server_error()],
            ),
            cloudwatch.GraphWidget(
                title="API latency p95",
                left=[
                    api.http_api.metric_latency(statistic="p95"),
                    api.http_api.metric_integration_latency(statistic="p95"),
                ],
            ),
            cloudwatch.GraphWidget(
                title="Orders",
                left=[
                    cloudwatch.Metric(
                        namespace="OrdersPipeline",
                        metric_name=name,
                        dimensions_map={"service": "orders"},
                        statistic="Sum",
                        period=cdk.Duration.minutes(1),
                    )
                    for name in (
                        "OrdersAccepted",
                        "OrdersRejected",
                        "OrdersProcessed",
                        "OrdersDuplicate",
                        "OrdersInvalid",
                    )
                ],
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Lambda errors", left=[fn.function.metric_errors() for fn in functions]
            ),
            cloudwatch.GraphWidget(
                title="Lambda duration p95",
                left=[fn.function.metric_duration(statistic="p95") for fn in functions],
            ),
            cloudwatch.GraphWidget(
                title="Queues",
                left=[
                    queue.metric_approximate_number_of_messages_visible(),
                    dlq.metric_approximate_number_of_messages_visible(),
                ],
                right=[queue.metric_approximate_age_of_oldest_message()],
            ),
        )
        dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24))
        return dashboard

    def alarm(self, id: str, metric: cloudwatch.Metric, threshold: float, description: str) -> None:
        alarm = metric.create_alarm(
            self,
            id,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        # told when it goes off and when it is over, so nobody is left wondering
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        alarm.add_ok_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)
