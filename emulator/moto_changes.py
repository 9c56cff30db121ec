"""Every change the emulator makes to moto, in order: the one place to see them. Each lives with
the service it changes (emulator/<service>/; moto's shared machinery: emulator/core/) and says
why; all go through emulator.patching, so tests can install them for a while and put moto back
(`uninstall`), and tests/emulator/test_moto_changes.py checks both."""

import gc
import threading
from collections.abc import Callable

from emulator import patching
from emulator.cloudwatch import alarms
from emulator.core import docker, instances, reset, speedups
from emulator.dynamodb import atomic as dynamodb_atomic
from emulator.dynamodb import speedups as dynamodb_speedups
from emulator.dynamodb import streams
from emulator.events import schedule, targets
from emulator.lambda_ import event_sources
from emulator.lambda_ import patches as lambda_patches
from emulator.s3 import notifications, policies
from emulator.sns import delivery
from emulator.sqs import speedups as sqs_speedups
from emulator.sqs import store
from emulator.sqs import tracing as sqs_tracing

_installed = False
_cloudformation_lock = threading.Lock()
_cloudformation_loaded = False
_when_cloudformation_loads: list[Callable[[], None]] = []


def install() -> None:
    global _installed
    if _installed:
        return
    speedups.install()  # moto's request handling: the same answers with less work
    docker.install()  # no Docker: moto's container paths refuse loudly
    reset.install()  # a state reset never trips over a moto module being imported meanwhile
    instances.install()  # moto's registry of model instances lets go of what its backends dropped
    sqs_speedups.install()
    dynamodb_speedups.install()  # conditions parsed once, item sizes summed once, Scans without copies
    dynamodb_atomic.install()  # each DynamoDB request runs alone: a Scan never meets a PutItem midway
    lambda_patches.keep_logging_config()
    lambda_patches.accept_hot_reload_code()  # Code in the hot-reload bucket: a folder here
    lambda_patches.moto_triggers_invoke_through_the_runtime()  # S3, EventBridge, ...: never Docker
    streams.install()  # DynamoDB Streams: no synchronous trigger inside PutItem (pollers invoke)
    event_sources.install()  # a mapping from a source no poller reads is refused
    store.install()  # SQS: the indexed store, DeadLetterQueueSourceArn, no synchronous Lambda trigger
    sqs_tracing.install()  # SQS: a sent message keeps its X-Ray trace header (AWSTraceHeader)
    policies.store_but_do_not_enforce_bucket_policies()
    notifications.install()  # S3 event notifications: AWS's record, destinations' policies checked
    targets.install()  # EventBridge: Lambda, SQS and SNS targets; unsupported targets refused
    schedule.install()  # EventBridge: a schedule the emulator cannot keep is refused
    alarms.alarms_start_in_insufficient_data()
    alarms.alarm_history_as_aws_keeps_it()  # state changes recorded; DescribeAlarmHistory
    delivery.install()  # SNS: email to the mailbox (confirmed first), Lambda, loopback http(s)
    _installed = True


def load_cloudformation() -> None:
    """moto's CloudFormation imports every moto service (~0.7 s, two thirds of the start time),
    so, as LocalStack loads services lazily, it loads on its first request or in the background
    once the emulator is ready, whichever comes first; its handlers and patches go in with it."""
    global _cloudformation_loaded
    with _cloudformation_lock:
        if _cloudformation_loaded:
            return
        with speedups.one_boto_session():
            from emulator.apigw import cloudformation as apigw_types
            from emulator.cloudformation import custom, patches, resources
            from emulator.cloudwatch import cloudformation as cloudwatch_types
            from emulator.dynamodb import cloudformation as dynamodb_types
            from emulator.iam import cloudformation as iam_types
            from emulator.lambda_ import cloudformation as lambda_types
            from emulator.logs import cloudformation as logs_types
            from emulator.s3 import cloudformation as s3_types
            from emulator.sns import cloudformation as sns_types
            from emulator.sqs import cloudformation as sqs_types

        # each service's CloudFormation types: create (where moto lacks it), update in place, delete
        for service in (apigw_types, cloudwatch_types, dynamodb_types, iam_types, lambda_types,
                        logs_types, s3_types, sns_types, sqs_types):  # fmt: skip
            service.install()
        resources.install()
        custom.install()  # Custom::* resources: their function answers, as on AWS
        patches.stack_operations_as_cloudformation_performs_them()
        patches.missing_change_sets_as_aws_reports_them()
        patches.previous_ssm_parameters_are_their_names()
        patches.previous_values_of_update_stack_as_aws_keeps_them()
        for then in _when_cloudformation_loads:  # before any request can see CloudFormation
            then()
        _cloudformation_loaded = True
        # Every moto module is loaded now: keep those objects out of the collector's full scans,
        # which otherwise pause all requests for ~0.2 s every few seconds under load.
        gc.freeze()


def when_cloudformation_loads(then: Callable[[], None]) -> None:
    """Run `then` as CloudFormation loads, before its first request (restored stacks)."""
    with _cloudformation_lock:
        if _cloudformation_loaded:
            then()
        else:
            _when_cloudformation_loads.append(then)


def cloudformation_loaded() -> bool:
    return _cloudformation_loaded


def uninstall() -> None:
    """moto as it was (tests); the resource types moto's CloudFormation gained stay registered."""
    global _installed, _cloudformation_loaded
    with _cloudformation_lock:
        patching.undo_all()
        speedups.PLAIN_RESULTS_VERIFIED.clear()
        speedups.PLAIN_RESULTS_DIFFER.clear()
        _installed = _cloudformation_loaded = False
        _when_cloudformation_loads.clear()
        gc.unfreeze()
