"""moto as the control plane: the patches that make it serve the CDK CLI and hand the data plane
to the emulator. Each patch is small and says why; `install()` applies them once."""

import functools
import gc
import json
import math
import string
import threading
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.sqs.models import Queue

from emulator import sqs_store

_installed = False
PLAIN_RESULTS_TO_VERIFY = 20
PLAIN_RESULTS_VERIFIED: dict[str, int] = {}  # "service.Operation" -> results that serialized identically
PLAIN_RESULTS_DIFFER: set[str] = set()  # operations that keep moto's serializer
_cloudformation_lock = threading.Lock()
_cloudformation_loaded = False


class _NoSynchronousTrigger(dict):
    """moto delivers SQS messages to Lambda one by one inside SendMessage; the emulator's pollers
    deliver them as Lambda does instead, so moto's registry of mappings on a queue stays empty."""

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


def _keep_logging_config() -> None:
    """moto drops a function's LoggingConfig; the runtime needs its LogGroup to write logs there."""
    original_init = LambdaFunction.__init__

    @functools.wraps(original_init)
    def init(self: LambdaFunction, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        original_init(self, account_id, spec, *args, **kwargs)
        setattr(self, "logging_config", spec.get("LoggingConfig"))  # noqa: B010 - an attribute moto does not declare

    LambdaFunction.__init__ = init  # type: ignore[method-assign]

    original_create = LambdaFunction.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    original_update = LambdaFunction.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(
        cls: type, resource_name: str, cloudformation_json: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        fn = original_create(cls, resource_name, cloudformation_json, *args, **kwargs)
        fn.logging_config = cloudformation_json["Properties"].get("LoggingConfig")
        return fn

    def update(
        cls: type,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        fn = original_update(cls, original_resource, new_resource_name, cloudformation_json, *args, **kwargs)
        fn.logging_config = cloudformation_json["Properties"].get("LoggingConfig")
        return fn

    original_configuration = LambdaFunction.get_configuration

    @functools.wraps(original_configuration)
    def get_configuration(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = original_configuration(self, *args, **kwargs)
        logging_config = getattr(self, "logging_config", None)
        if logging_config:
            config["LoggingConfig"] = {"LogFormat": "Text", **logging_config}
        return config

    LambdaFunction.get_configuration = get_configuration  # type: ignore[method-assign]
    LambdaFunction.create_from_cloudformation_json = classmethod(create)  # type: ignore[method-assign, assignment]
    LambdaFunction.update_from_cloudformation_json = classmethod(update)  # type: ignore[method-assign, assignment]


def _switch_off_moto_sqs_trigger() -> None:
    original_init = Queue.__init__

    @functools.wraps(original_init)
    def init(self: Queue, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.lambda_event_source_mappings = _NoSynchronousTrigger()

    Queue.__init__ = init  # type: ignore[method-assign]


def _store_but_do_not_enforce_bucket_policies() -> None:
    """moto's policy evaluator denies whenever a statement's condition is unmet (even for Allow
    statements) and knows only StringEquals, so the TLS-only policy every CDK bootstrap bucket
    carries (Deny if aws:SecureTransport is false) would deny every asset upload. Bucket policies
    are therefore stored and returned as written but not enforced, as LocalStack does by default."""
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
        return PermissionResult.NEUTRAL

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


def _outputs_after_change_sets() -> None:
    """moto's ExecuteChangeSet (what `cdk deploy` uses) applies the new template's resources but
    keeps the stack's old parsed template and output map, so outputs stay empty or stale. Re-read
    them after every execution, as Stack.update does. When applying fails, moto answers a 500
    that the SDK retries until a retry finds nothing left to change and reports success over a
    half-applied stack; the failure is reported instead (a 400 naming the cause) and the stack
    marked as failed, since the emulator cannot roll back."""
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import CloudFormationBackend

    original = CloudFormationBackend.execute_change_set

    @functools.wraps(original)
    def execute_change_set(
        self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
    ) -> None:
        change_set = next(
            (c for c in self.change_sets.values() if change_set_name in (c.change_set_id, c.change_set_name)),
            None,
        )
        try:
            original(self, change_set_name, stack_name)
        except ValidationError:
            raise
        except Exception as error:
            if change_set is None:
                raise
            stack = self.stacks[change_set.stack_id]
            failed = "ROLLBACK_FAILED" if change_set.change_set_type == "CREATE" else "UPDATE_ROLLBACK_FAILED"
            stack._add_stack_event(f"{change_set.change_set_type}_FAILED", resource_status_reason=str(error))
            stack.status = failed
            change_set.execution_status = "EXECUTE_FAILED"
            raise ValidationError(
                message=f"Change set {change_set.change_set_name} failed: {type(error).__name__}: {error} "
                "(the embedded emulator cannot roll back; `make local-down && make up` starts afresh)"
            ) from error
        if change_set is not None:
            stack = self.stacks[change_set.stack_id]
            stack._parse_template()
            stack.output_map = stack._create_output_map()

    CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]


def _missing_change_sets_as_aws_reports_them() -> None:
    """`cdk deploy` onto an existing stack deletes any leftover change set of its name, then checks
    it is gone with DescribeChangeSet, expecting ChangeSetNotFound; moto answers a ValidationError
    ("Stack with id ... does not exist") that the CLI takes as fatal, so every redeploy failed.
    Deleting a change set that is not there succeeds, as on AWS."""
    from moto.cloudformation.exceptions import CloudFormationError, ValidationError
    from moto.cloudformation.models import CloudFormationBackend

    class ChangeSetNotFound(CloudFormationError):
        code = "ChangeSetNotFoundException"  # the model's shape: code ChangeSetNotFound, HTTP 404

        def __init__(self, name: str) -> None:
            super().__init__(f"ChangeSet [{name}] does not exist")

    original = CloudFormationBackend.describe_change_set

    @functools.wraps(original)
    def describe_change_set(self: CloudFormationBackend, change_set_name: str) -> Any:
        try:
            return original(self, change_set_name)
        except ValidationError:
            raise ChangeSetNotFound(change_set_name) from None

    CloudFormationBackend.describe_change_set = describe_change_set  # type: ignore[method-assign]

    # `cdk deploy` deletes a change set of its name before creating one, whether or not one is
    # left (AWS answers 200 when none is). moto 5.2.5 crashes on an absent name,
    #   DeleteChangeSet(StackName="s", ChangeSetName="cdk-deploy-change-set")
    #   -> UnboundLocalError: cannot access local variable 'to_delete'  (a non-XML 500)
    # which the CLI retries for 46 s and reports as an XML parse error. Every deploy after an
    # unchanged one hit it: the unchanged deploy's empty change set is deleted by the CLI itself.
    original_delete = CloudFormationBackend.delete_change_set

    @functools.wraps(original_delete)
    def delete_change_set(self: CloudFormationBackend, change_set_name: str) -> None:
        if change_set_name in self.change_sets or any(
            c.change_set_name == change_set_name for c in self.change_sets.values()
        ):
            original_delete(self, change_set_name)

    CloudFormationBackend.delete_change_set = delete_change_set  # type: ignore[method-assign]


def _previous_ssm_parameters_are_their_names() -> None:
    """A stack parameter of an SSM type (CDK's BootstrapVersion) has the parameter's *name* as its
    value and is resolved on every deploy. moto hands the resolved value ("21") to UsePreviousValue,
    which CDK sends on every redeploy, then looks "21" up in SSM and fails the update. Previous
    values of SSM-typed parameters are their names again, as on AWS."""
    from moto.cloudformation.models import Stack

    resolved_parameters = Stack.stack_parameters.fget  # type: ignore[attr-defined]

    def stack_parameters(self: Stack) -> dict[str, Any]:
        values = dict(resolved_parameters(self))
        resource_map = self.resource_map
        for key, slot in (resource_map._template.get("Parameters") or {}).items():
            if str(slot.get("Type", "")).startswith("AWS::SSM::Parameter::") and key in values:
                values[key] = resource_map.input_parameters.get(key, slot.get("Default"))
        return values

    Stack.stack_parameters = property(stack_parameters)  # type: ignore[assignment, method-assign]


def _cache_pure_helpers() -> None:
    """Two pure functions moto calls many times per request, computed once per argument instead:
    the method list of a response class (inspect.getmembers, to find the action's handler) and
    camelcase_to_underscores (15 calls per SendMessage alone, to build the queue's attributes)."""
    import sys

    from moto.core import responses, utils

    responses.method_names_from_class = functools.cache(utils.method_names_from_class)
    original = utils.camelcase_to_underscores
    cached = functools.lru_cache(maxsize=8192)(original)
    utils.camelcase_to_underscores = cached
    for module in list(sys.modules.values()):  # the modules that imported it by name already
        if getattr(module, "camelcase_to_underscores", None) is original:
            module.camelcase_to_underscores = cached  # type: ignore[attr-defined]


def _is_plain_json(value: Any) -> bool:
    if isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    # Empty lists and maps too: the shape serializer drops some of them (CloudWatch does).
    if isinstance(value, list):
        return bool(value) and all(_is_plain_json(item) for item in value)
    if isinstance(value, dict):
        return bool(value) and all(isinstance(k, str) and _is_plain_json(v) for k, v in value.items())
    return False  # None, bytes, datetimes, Decimals: the shape serializer decides how they look


def _serialize_plain_json_results_directly() -> None:
    """For the JSON protocol (SQS and DynamoDB, what every order calls), moto's results are mostly
    already in wire shape (strings, numbers, maps, lists), and its shape-walking serializer
    turning them into JSON was ~40 % of a GetItem. Such results become JSON directly; anything
    else takes moto's serializer. Each operation's first results are serialized both ways and
    compared; an operation that ever differs keeps moto's serializer."""
    from moto.core.responses import ActionResult
    from moto.core.serialize import JSONSerializer

    original = ActionResult.execute_result
    lock = threading.Lock()

    @functools.wraps(original)
    def execute_result(self: ActionResult, context: Any) -> Any:
        operation = f"{context.service_model.service_name}.{context.operation_model.name}"
        if (
            context.serializer_class is not JSONSerializer
            or operation in PLAIN_RESULTS_DIFFER
            or not isinstance(self.result, dict)
            or (self.result and not _is_plain_json(self.result))  # {}: PutItem, DeleteItem, ...
        ):
            return original(self, context)
        status = context.operation_model.http.get("responseCode", 200)
        version = context.service_model.metadata.get("jsonVersion", "1.0")
        fast = status, {"Content-Type": f"application/x-amz-json-{version}"}, json.dumps(self.result)
        if PLAIN_RESULTS_VERIFIED.get(operation, 0) >= PLAIN_RESULTS_TO_VERIFY:
            return fast
        slow = original(self, context)
        # The same JSON values, key order aside (1 and 1.0, or true and 1, count as different).
        same = (slow[0], slow[1]) == (fast[0], fast[1]) and json.dumps(
            json.loads(slow[2] or "{}"), sort_keys=True
        ) == json.dumps(self.result, sort_keys=True)
        with lock:
            if same:
                PLAIN_RESULTS_VERIFIED[operation] = PLAIN_RESULTS_VERIFIED.get(operation, 0) + 1
            else:
                PLAIN_RESULTS_DIFFER.add(operation)
        return slow

    ActionResult.execute_result = execute_result  # type: ignore[method-assign]


def _draw_random_strings_at_once() -> None:
    """moto draws its request ids (52 characters, every response) and receipt handles (185, every
    received message) one random.choice at a time; random.choices draws them in one call, from the
    same alphabet and the same (seedable) generator."""
    from moto.moto_api._internal import mock_random
    from moto.moto_api._internal.moto_random import MotoRandom
    from moto.sqs import models as sqs_models

    def get_random_string(
        self: MotoRandom, length: int = 20, include_digits: bool = True, lower_case: bool = False
    ) -> str:
        text = "".join(
            self.choices(string.ascii_letters + (string.digits if include_digits else ""), k=length)
        )
        return text.lower() if lower_case else text

    def generate_receipt_handle() -> str:
        return "".join(mock_random.choices(string.ascii_lowercase, k=185))

    MotoRandom.get_random_string = get_random_string  # type: ignore[method-assign]
    sqs_models.generate_receipt_handle = generate_receipt_handle


def _alarms_start_in_insufficient_data() -> None:
    """A new metric alarm starts in INSUFFICIENT_DATA on AWS (moto: OK, so a DLQ alarm looked
    checked and fine before anything was evaluated); PutMetricAlarm on an existing alarm replaces
    its configuration and keeps its state (moto: starts it afresh)."""
    from moto.cloudwatch.models import CloudWatchBackend

    original = CloudWatchBackend.put_metric_alarm

    @functools.wraps(original)
    def put_metric_alarm(self: CloudWatchBackend, name: str, *args: Any, **kwargs: Any) -> Any:
        previous = self.alarms.get(name)
        alarm = original(self, name, *args, **kwargs)
        if previous is None:
            alarm.state_value = "INSUFFICIENT_DATA"
        else:
            for kept in (
                "state_value",
                "state_reason",
                "state_reason_data",
                "state_updated_timestamp",
                "history",
            ):
                setattr(alarm, kept, getattr(previous, kept))
        return alarm

    CloudWatchBackend.put_metric_alarm = put_metric_alarm  # type: ignore[method-assign]


def install() -> None:
    global _installed
    if _installed:
        return
    _cache_pure_helpers()
    _draw_random_strings_at_once()
    _serialize_plain_json_results_directly()
    _keep_logging_config()
    _switch_off_moto_sqs_trigger()
    _store_but_do_not_enforce_bucket_policies()
    _alarms_start_in_insufficient_data()
    sqs_store.install()
    _installed = True


def load_cloudformation() -> None:
    """moto's CloudFormation imports every moto service (~0.7 s, two thirds of the start time),
    so, as LocalStack loads services lazily, it loads on its first request or in the background
    once the emulator is ready, whichever comes first; its handlers and patches go in with it."""
    global _cloudformation_loaded
    with _cloudformation_lock:
        if _cloudformation_loaded:
            return
        from emulator import cloudformation

        cloudformation.install()
        _outputs_after_change_sets()
        _missing_change_sets_as_aws_reports_them()
        _previous_ssm_parameters_are_their_names()
        _cloudformation_loaded = True
        # Every moto module is loaded now: keep those objects out of the collector's full scans,
        # which otherwise pause all requests for ~0.2 s every few seconds under load.
        gc.freeze()


def cloudformation_loaded() -> bool:
    return _cloudformation_loaded
