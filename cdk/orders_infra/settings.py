"""Everything that differs between targets, read from CDK context. Same stack, different values."""

import os
import platform
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Node

TARGETS = ("aws", "local")


@dataclass(frozen=True)
class Settings:
    target: str
    process_timeout: cdk.Duration
    api_timeout: cdk.Duration
    queue_visibility: cdk.Duration
    batch_size: int
    batching_window: cdk.Duration
    max_receive_count: int
    memory_size: int
    oldest_message_alarm_seconds: int
    alarm_period: cdk.Duration | None  # None: each alarm's own period (AWS); locally one short period
    hot_reload: bool  # locally: functions run straight from functions/ (LocalStack's hot-reload bucket)
    log_retention: logs.RetentionDays
    api_rate_limit: int
    api_burst_limit: int
    alarm_email: str | None
    removal_policy: cdk.RemovalPolicy
    architecture: lambda_.Architecture
    extension_step: int  # docs/extending.md, applied up to this step (0: the stack as shipped)

    @staticmethod
    def from_context(node: Node) -> "Settings":
        target = str(node.try_get_context("target") or "aws")
        if target not in TARGETS:
            raise ValueError(f"context target must be one of {', '.join(TARGETS)}, got {target!r}")
        local = target == "local"
        hot_reload = str(node.try_get_context("hotReload") or "").lower() in ("1", "true")
        if hot_reload and not local:
            raise ValueError("context hotReload is for the local target only (-c target=local)")
        process_timeout = 2 if local else 30
        return Settings(
            target=target,
            process_timeout=cdk.Duration.seconds(process_timeout),
            api_timeout=cdk.Duration.seconds(3 if local else 10),
            # AWS guidance is 6x the function timeout, so a batch that waits (for a cold start, a
            # throttled retry) is never handed out twice; locally too: ministack starts a new worker
            # after it received the batch, on a busy machine seconds later. A failure that may pass
            # on retry reaches the DLQ locally in a minute; a poison message does not wait for it
            # (ProcessOrder releases it at once).
            queue_visibility=cdk.Duration.seconds(6 * process_timeout),
            batch_size=10,
            batching_window=cdk.Duration.seconds(0 if local else 1),
            # knobs a learner turns while growing the stack (docs/extending.md)
            max_receive_count=int(node.try_get_context("maxReceiveCount") or 5),
            memory_size=int(node.try_get_context("memorySize") or 256),
            oldest_message_alarm_seconds=60 if local else 300,
            # Locally alarms look at 10-second periods, so a poison message's DLQ alarm (and its
            # email) arrives within about 30 s instead of minutes; AWS keeps 1 and 5 minutes.
            alarm_period=cdk.Duration.seconds(10) if local else None,
            hot_reload=hot_reload,
            log_retention=logs.RetentionDays.ONE_WEEK if local else logs.RetentionDays.ONE_MONTH,
            # Locally the default leaves room for load tests; set the context to try throttling.
            api_rate_limit=int(node.try_get_context("apiRateLimit") or (5000 if local else 100)),
            api_burst_limit=int(node.try_get_context("apiBurstLimit") or (5000 if local else 200)),
            alarm_email=node.try_get_context("alarmEmail") or None,
            removal_policy=cdk.RemovalPolicy.DESTROY if local else cdk.RemovalPolicy.RETAIN,
            # Graviton on AWS; locally the host's own architecture so container emulators need no CPU emulation.
            architecture=(
                lambda_.Architecture.ARM_64
                if not local or platform.machine().lower() in ("arm64", "aarch64")
                else lambda_.Architecture.X86_64
            ),
            extension_step=int(node.try_get_context("extensionStep") or 0),
        )

    def env(self) -> cdk.Environment | None:
        if self.target == "local":
            return cdk.Environment(
                account="000000000000", region=os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
            )
        account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
        return cdk.Environment(account=account, region=region) if account and region else None
