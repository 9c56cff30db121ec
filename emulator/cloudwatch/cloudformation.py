"""CloudWatch's CloudFormation types: AWS::CloudWatch::Alarm, which moto's CloudFormation lacks,
updated in place keeping its state (alarms.py) as PutMetricAlarm does; ::Dashboard updated by
PutDashboard."""

from typing import Any

from moto.cloudwatch.models import Dashboard, cloudwatch_backends
from moto.core.common_models import CloudFormationModel

from emulator.cloudformation import engine
from emulator.cloudformation.resources import Emulated, tags_dict


class MetricAlarmResource(Emulated, CloudFormationModel):
    ATTRIBUTES = ("Arn",)

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json["Properties"]
        name = props.get("AlarmName", resource_name)
        return cls(
            name, account_id, region_name, props, Arn=_put(name, props, account_id, region_name).alarm_arn
        )

    def delete(self, account_id: str, region: str) -> None:
        cloudwatch_backends[account_id][region].delete_alarms([self.physical_resource_id])


def _put(name: str, props: Any, account_id: str, region: str) -> Any:
    if props.get("Metrics"):
        raise NotImplementedError("AWS::CloudWatch::Alarm with metric math (Metrics)")
    return cloudwatch_backends[account_id][region].put_metric_alarm(
        name=name,
        namespace=props.get("Namespace"),
        metric_name=props.get("MetricName"),
        comparison_operator=props["ComparisonOperator"],
        evaluation_periods=int(props["EvaluationPeriods"]),
        period=int(props.get("Period", 60)),
        threshold=float(props["Threshold"]),
        statistic=props.get("Statistic"),
        extended_statistic=props.get("ExtendedStatistic"),
        description=props.get("AlarmDescription"),
        dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in props.get("Dimensions", [])],
        alarm_actions=props.get("AlarmActions", []),
        ok_actions=props.get("OKActions", []),
        insufficient_data_actions=props.get("InsufficientDataActions", []),
        datapoints_to_alarm=props.get("DatapointsToAlarm"),
        unit=props.get("Unit"),
        actions_enabled=props.get("ActionsEnabled", True),
        treat_missing_data=props.get("TreatMissingData"),
        tags=[{"Key": k, "Value": v} for k, v in tags_dict(props.get("Tags")).items()],
    )


def converge_alarm(
    alarm: MetricAlarmResource, old: dict[str, Any] | None, new: dict[str, Any], account_id: str, region: str
) -> MetricAlarmResource:
    if old is not None:  # PutMetricAlarm on an existing alarm keeps its state (alarms.py)
        _put(alarm.physical_resource_id, new, account_id, region)
    alarm.properties = new
    return alarm


def converge_dashboard(
    dashboard: Dashboard, old: dict[str, Any] | None, new: dict[str, Any], account_id: str, region: str
) -> Dashboard:
    return cloudwatch_backends[account_id][region].put_dashboard(
        name=dashboard.name, body=new["DashboardBody"]
    )


def install() -> None:
    engine.register("AWS::CloudWatch::Alarm", converge_alarm)
    engine.register("AWS::CloudWatch::Dashboard", converge_dashboard)
