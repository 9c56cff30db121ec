import json

import jsii
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.aws_apigatewayv2_integrations import HttpLambdaIntegration
from constructs import Construct

from orders_infra.settings import Settings

ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
}


@jsii.implements(apigwv2.IAccessLogSettings)
class JsonAccessLogs:
    """Access logs as one JSON object per request, in the given log group."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._log_group = log_group

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return apigwv2.LogGroupLogDestination(self._log_group)

    @property
    def format(self) -> apigw.AccessLogFormat:
        return apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT))


class OrdersApi(Construct):
    """HTTP API (payload format 2.0) with a throttled, access-logged $default stage."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: Settings,
        create_function: lambda_.IFunction,
        get_function: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, id)
        self.http_api = apigwv2.HttpApi(self, "HttpApi", description="Orders API", create_default_stage=False)
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=settings.log_retention, removal_policy=settings.removal_policy
        )
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=settings.api_rate_limit, burst_limit=settings.api_burst_limit
            ),
            access_log_settings=JsonAccessLogs(self.access_logs),
        )
        v2 = apigwv2.PayloadFormatVersion.VERSION_2_0
        self.http_api.add_routes(
            path="/orders",
            methods=[apigwv2.HttpMethod.POST],
            integration=HttpLambdaIntegration("CreateOrder", create_function, payload_format_version=v2),
        )
        self.http_api.add_routes(
            path="/orders/{orderId}",
            methods=[apigwv2.HttpMethod.GET],
            integration=HttpLambdaIntegration("GetOrder", get_function, payload_format_version=v2),
        )
