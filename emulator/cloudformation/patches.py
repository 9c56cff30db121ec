"""CloudFormation's changes to moto: stack operations through the engine, and what `cdk deploy`
needs of change sets and SSM-typed parameters. Each says why, with the call that failed."""

import functools
from typing import Any

from emulator.cloudformation import engine
from emulator.patching import replace


def stack_operations_as_cloudformation_performs_them() -> None:
    """CreateStack, UpdateStack and ExecuteChangeSet go through the engine (engine.py): changes
    applied in place or by replacement as the resource schemas say, data kept, a failure rolled
    back. moto applied few properties of a changed resource (a GSI added to a table, a queue's
    RedrivePolicy: UPDATE_COMPLETE and nothing changed), kept the old outputs after a change set,
    and left a failed update half applied for good (with state kept, until everything was
    deleted). ContinueUpdateRollback, which moto lacks, finishes a rollback that stopped."""
    _stacks_created_and_updated_by_the_engine()
    _change_sets_executed_by_the_engine()
    _rollbacks_continued_and_failed_stacks_kept()


def _stacks_created_and_updated_by_the_engine() -> None:
    from moto.cloudformation.models import Stack

    def create_resources(self: Stack) -> None:
        engine.create(self)
        self.description = self.template_dict.get("Description")

    def update(
        self: Stack,
        template: str,
        role_arn: str | None = None,
        parameters: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        if engine.update(self, self.parse_template(template), parameters):
            self.template = template
            self._parse_template()
            self.description = self.template_dict.get("Description")
            self.role_arn = role_arn
            if parameters:
                self.parameters = parameters
            if tags is not None:
                self.tags = tags

    replace(Stack, "create_resources", create_resources)
    replace(Stack, "update", update)


def _change_sets_executed_by_the_engine() -> None:
    """The change set's template applied by the engine, its exports replacing the stack's old ones."""
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import CloudFormationBackend

    def execute_change_set(
        self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None
    ) -> None:
        change_set = next(
            (c for c in self.change_sets.values() if change_set_name in (c.change_set_id, c.change_set_name)),
            None,
        )
        if change_set is None:
            raise ValidationError(stack_name)
        if change_set.execution_status != "AVAILABLE":
            raise ValidationError(
                message=f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current "
                f"execution status of [{change_set.execution_status}]"
            )
        stack = self.stacks[change_set.stack_id]
        change_set.execution_status = "EXECUTE_IN_PROGRESS"
        if engine.update(stack, change_set.template_dict, change_set.parameters):
            change_set.execution_status = "EXECUTE_COMPLETE"
            stack.template = change_set.template
            stack._parse_template()
            stack.description = stack.template_dict.get("Description")
            if change_set.parameters:
                stack.parameters = change_set.parameters
            for name in [n for n, e in self.exports.items() if e.exporting_stack_id == stack.stack_id]:
                del self.exports[name]
            for export in stack.exports:
                self.exports[export.name] = export
        else:
            change_set.execution_status = "EXECUTE_FAILED"

    replace(CloudFormationBackend, "execute_change_set", execute_change_set)


def _rollbacks_continued_and_failed_stacks_kept() -> None:
    """ContinueUpdateRollback, and UpdateStack refused on a stack that must be deleted or rolled
    back first."""
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import CloudFormationBackend, Stack
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import EmptyResult

    def continue_update_rollback(self: CloudFormationBackend, stack_name: str, skip: list[str]) -> None:
        stack = self.get_stack(stack_name)
        if stack.status != "UPDATE_ROLLBACK_FAILED":
            raise ValidationError(
                message=f"Stack:{stack.stack_id} is in {stack.status} state and can not continue update rollback."
            )
        engine.continue_rollback(stack, frozenset(skip))

    def continue_update_rollback_response(self: CloudFormationResponse) -> EmptyResult:
        self.cloudformation_backend.continue_update_rollback(  # type: ignore[attr-defined]
            self._get_param("StackName"), self._get_param("ResourcesToSkip", [])
        )
        return EmptyResult()

    def validate_status(self: CloudFormationResponse, stack: Stack) -> None:
        """As CloudFormation: a stack that failed its creation, or whose rollback stopped, cannot
        be updated (the first is deleted and created again; the second needs ContinueUpdateRollback)."""
        if stack.status in (
            "ROLLBACK_COMPLETE",
            "ROLLBACK_FAILED",
            "UPDATE_ROLLBACK_FAILED",
        ) or stack.status.endswith("_IN_PROGRESS"):
            raise ValidationError(
                stack.stack_id,
                message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.",
            )

    replace(CloudFormationBackend, "continue_update_rollback", continue_update_rollback)
    replace(CloudFormationResponse, "continue_update_rollback", continue_update_rollback_response)
    replace(CloudFormationResponse, "_validate_status", validate_status)


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


def previous_values_of_update_stack_as_aws_keeps_them() -> None:
    """UpdateStack's UsePreviousValue takes the value the stack has now, a parameter left at its
    default included: `cdk deploy --method=direct` sends CDK's BootstrapVersion that way on every
    update. moto looks only at the values a caller passed,
      UpdateStack(Parameters=[{"ParameterKey": "BootstrapVersion", "UsePreviousValue": True}])
      -> KeyError: 'BootstrapVersion'  (a non-XML 500 the CLI retries for 45 s)
    (A key the stack has no parameter of is refused before, a ValidationError.)"""
    from moto.cloudformation.models import CloudFormationBackend, Stack

    original_resolve = CloudFormationBackend._resolve_update_parameters

    @functools.wraps(original_resolve)
    def resolve(
        self: CloudFormationBackend, instance: Any, incoming_params: list[dict[str, Any]]
    ) -> dict[str, str]:
        if not isinstance(instance, Stack):  # a stack set: moto's own
            return original_resolve(self, instance, incoming_params)
        # what was passed before, else what the stack resolved (a default; SSM-typed: its name, above)
        current = {**instance.stack_parameters, **instance.parameters}
        resolved = {p["ParameterKey"]: p["ParameterValue"] for p in incoming_params if "ParameterValue" in p}
        for parameter in incoming_params:
            if parameter.get("UsePreviousValue", False):
                resolved[parameter["ParameterKey"]] = current[parameter["ParameterKey"]]
        return resolved

    replace(CloudFormationBackend, "_resolve_update_parameters", resolve)
