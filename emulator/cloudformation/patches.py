"""CloudFormation's changes to moto: what `cdk deploy` needs of change sets and SSM-typed
parameters. Each says why, with the call that failed."""

import functools
from typing import Any

from emulator.patching import replace


def outputs_after_change_sets() -> None:
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

    replace(CloudFormationBackend, "execute_change_set", execute_change_set)


def missing_change_sets_as_aws_reports_them() -> None:
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

    replace(CloudFormationBackend, "describe_change_set", describe_change_set)

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

    replace(CloudFormationBackend, "delete_change_set", delete_change_set)


def previous_ssm_parameters_are_their_names() -> None:
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

    replace(Stack, "stack_parameters", property(stack_parameters))
