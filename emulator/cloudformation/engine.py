"""Stack creates and updates as CloudFormation performs them, over moto's resource models.

moto's own update deletes removed resources first, then adds, then asks each changed resource to
update itself with whatever its model happens to handle (often a few properties, sometimes none),
and never rolls back. Here a create or an update walks the new template in dependency order:

  new resource                    created
  unchanged (resolved properties) untouched
  a create-only property changed replaced: the new one is created now (a generated name gets a
                                  new generated name) and what refers to it is re-resolved as the
                                  walk goes on; the old one is deleted at cleanup
  any other change                updated in place by its type's `converge` (data kept)

Resources the new template no longer has are deleted at cleanup, once every other change
succeeded. A failure undoes what was done, newest first (rollback): an update ends in
UPDATE_ROLLBACK_COMPLETE with the previous template, resources and outputs, a create in
ROLLBACK_COMPLETE with nothing left. A rollback step that fails leaves UPDATE_ROLLBACK_FAILED
and `ContinueUpdateRollback` retries the rest.

Each resource type's `converge` (its service's folder registers it: `register`) takes an existing
resource from one set of properties to another through that service's own update operations; it
also runs right after a create (from None), so a property moto's create ignores is
applied the same way either way, and a rollback runs it backwards. A type with no `converge`
keeps moto's own update where moto has one; a change to a type with neither fails the update
with a message that names it, instead of being ignored.
"""

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from moto.cloudformation.models import Event, Stack
from moto.cloudformation.parsing import OutputMap, ResourceMap, clean_json, resource_class_from_type

from emulator.cloudformation import schemas

# type -> converge(resource, old properties (None: just created), new properties, account_id,
# region) -> the resource
Converge = Callable[[Any, dict[str, Any] | None, dict[str, Any], str, str], Any]
_converge: dict[str, Converge] = {}
CUSTOM_RESOURCE = "AWS::CloudFormation::CustomResource"  # every Custom::* type converges as this one


def register(resource_type: str, converge: Converge) -> None:
    _converge[resource_type] = converge


def _converge_of(resource_type: str) -> Converge | None:
    """The type's converge; every custom resource type (Custom::*) has the generic one's."""
    if resource_type.startswith("Custom::"):
        resource_type = CUSTOM_RESOURCE
    return _converge.get(resource_type)


class UpdateFailed(Exception):
    """One resource could not be created, updated or replaced; says which and why."""

    def __init__(self, logical_id: str, reason: str) -> None:
        super().__init__(reason)
        self.logical_id, self.reason = logical_id, reason


@dataclass
class Step:
    """One change the walk made, which a rollback undoes."""

    action: str  # create | replace | update
    logical_id: str
    resource_type: str
    resource: Any  # what the step made or changed
    before: Any = None  # replace: the resource replaced; update: its properties before
    after: dict[str, Any] = field(default_factory=dict)  # update: its properties after


@dataclass
class MapState:
    """What a ResourceMap holds of one template: put back on rollback."""

    template: dict[str, Any]
    resource_json: dict[str, Any]
    input_parameters: dict[str, Any]
    resolved_parameters: dict[str, Any]
    parsed: dict[str, Any]
    conditions: Any

    @staticmethod
    def of(resources: ResourceMap) -> "MapState":
        return MapState(
            resources._template,
            resources._resource_json_map,
            dict(resources.input_parameters),
            dict(resources.resolved_parameters),
            dict(resources._parsed_resources),
            getattr(resources, "lazy_condition_map", {}),
        )

    def restore(self, resources: ResourceMap) -> None:
        resources._template = self.template
        resources._resource_json_map = self.resource_json
        resources.input_parameters = self.input_parameters
        resources.resolved_parameters = self.resolved_parameters
        resources._parsed_resources = dict(self.parsed)
        resources.lazy_condition_map = self.conditions


# -- reading a template ----------------------------------------------------------------------


def _references(value: Any) -> Iterator[str]:
    """The logical ids a property value refers to (Ref, Fn::GetAtt, Fn::Sub)."""
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str):
            yield value["Ref"]
        attribute = value.get("Fn::GetAtt")
        if isinstance(attribute, list) and attribute:
            yield str(attribute[0])
        elif isinstance(attribute, str):
            yield attribute.split(".")[0]
        sub = value.get("Fn::Sub")
        if sub is not None:
            text, local = (sub[0], sub[1]) if isinstance(sub, list) else (sub, {})
            for name in re.findall(r"\$\{([^!}][^}]*)\}", text):
                if name.split(".")[0] not in local:
                    yield name.split(".")[0]
        for inner in value.values():
            yield from _references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _references(inner)


def dependencies(resource_json: dict[str, Any], resources: dict[str, Any]) -> set[str]:
    depends = resource_json.get("DependsOn") or []
    named = {depends} if isinstance(depends, str) else set(depends)
    named |= set(_references({k: v for k, v in resource_json.items() if k != "DependsOn"}))
    return {name for name in named if name in resources}


def dependency_order(resources: dict[str, Any]) -> list[str]:
    """Logical ids, each after everything it refers to or depends on (template order otherwise)."""
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(logical_id: str) -> None:
        if logical_id in ordered or logical_id in visiting:
            return  # a cycle is the template's error; moto's lazy resolution reports it
        visiting.add(logical_id)
        for dependency in sorted(dependencies(resources[logical_id], resources)):
            visit(dependency)
        visiting.discard(logical_id)
        ordered.append(logical_id)

    for logical_id in resources:
        visit(logical_id)
    return ordered


# -- one stack operation ---------------------------------------------------------------------


def create(stack: Stack) -> bool:
    """Create `stack`'s resources from the template it was made with (CreateStack)."""
    return Operation(stack, stack.template_dict, None).run()


def update(stack: Stack, template: dict[str, Any], parameters: dict[str, Any] | None) -> bool:
    """Bring `stack` to `template` (UpdateStack, ExecuteChangeSet; a CREATE change set's stack,
    REVIEW_IN_PROGRESS, is created). True when it got there; False when it rolled back."""
    return Operation(stack, template, parameters).run()


class Operation:
    """One create or update of `stack` to `template`: the walk, cleanup and rollback."""

    def __init__(self, stack: Stack, template: dict[str, Any], parameters: dict[str, Any] | None) -> None:
        self.stack = stack
        self.resources: ResourceMap = stack.resource_map
        self.template = template
        self.parameters = parameters
        self.previous = MapState.of(self.resources)
        self.live = live_resources(self.resources)
        # CreateStack's stack is CREATE_PENDING, a CREATE change set's REVIEW_IN_PROGRESS
        self.creating = stack.status in ("CREATE_PENDING", "REVIEW_IN_PROGRESS")
        self.steps: list[Step] = []
        self.visited: set[str] = set()

    def run(self) -> bool:
        kind = "CREATE" if self.creating else "UPDATE"
        types = {lid: self.previous.resource_json[lid]["Type"] for lid in self.live}
        self.stack.status = f"{kind}_IN_PROGRESS"
        last = self.stack.events[-1] if self.stack.events else None
        if last is None or (last.logical_resource_id, last.resource_status) != (
            self.stack.name,
            self.stack.status,
        ):
            self.stack._add_stack_event(self.stack.status, resource_status_reason="User Initiated")
        try:
            try:  # what each resource has now: the previous template, resolved against them
                before = {lid: self._properties(self.previous.resource_json[lid]) for lid in self.live}
            except Exception as error:
                raise UpdateFailed(self.stack.name, _reason(error)) from error
            self._load_template()
            for logical_id in dependency_order(self.template["Resources"]):
                self._apply(logical_id, types.get(logical_id), before.get(logical_id))
        except UpdateFailed as failure:
            verb = "create" if self.creating else "update"
            self.stack.status = "ROLLBACK_IN_PROGRESS" if self.creating else "UPDATE_ROLLBACK_IN_PROGRESS"
            self.stack._add_stack_event(
                self.stack.status,
                resource_status_reason=f"The following resource(s) failed to {verb}: [{failure.logical_id}]. ",
            )
            finish_rollback(self.stack, PendingRollback(self.steps, self.previous, self.creating))
            return False
        self.stack.template_dict = self.template
        self.stack.output_map = self.stack._create_output_map()
        if not self.creating:
            self.stack._add_stack_event("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        self._cleanup()
        self.stack.status = f"{kind}_COMPLETE"
        self.stack._add_stack_event(self.stack.status)
        return True

    def _properties(self, resource_json: dict[str, Any]) -> dict[str, Any]:
        return clean_json(copy.deepcopy(resource_json.get("Properties") or {}), self.resources) or {}

    def _load_template(self) -> None:
        self.resources._template = self.template
        self.resources._resource_json_map = self.template["Resources"]
        if self.parameters:
            self.resources.input_parameters = self.parameters
        try:
            self.resources.load()
        except Exception as error:
            raise UpdateFailed(self.stack.name, _reason(error)) from error

    def _apply(self, logical_id: str, previous_type: str | None, before: dict[str, Any] | None) -> None:
        resource_json = self.template["Resources"][logical_id]
        condition = resource_json.get("Condition")
        if condition and not self.resources.lazy_condition_map[condition]:
            return  # not in the stack: deleted at cleanup if it was
        self.visited.add(logical_id)
        resource_type = resource_json["Type"]
        current = self.live.get(logical_id)
        if current is None:
            self.steps.append(
                Step("create", logical_id, resource_type, self._create(logical_id, resource_type))
            )
            return
        try:
            after = self._properties(resource_json)
        except Exception as error:
            raise self._failed(logical_id, resource_type, current, "UPDATE_FAILED", error) from error
        if previous_type == resource_type and after == before:
            return
        if previous_type != resource_type:
            replacing = ["Type"]
        else:
            replacing = schemas.replacing_changes(resource_type, before or {}, after)
        if replacing:
            self._replace(logical_id, resource_type, current, replacing, after)
        else:
            self._update(logical_id, resource_type, current, before or {}, after)

    def _failed(self, logical_id: str, resource_type: str, resource: Any, status: str,
                error: BaseException | str) -> "UpdateFailed":  # fmt: skip
        reason = error if isinstance(error, str) else _reason(error)
        _event(self.stack, logical_id, resource_type, resource, status, reason)
        return UpdateFailed(logical_id, reason)

    def _create(self, logical_id: str, resource_type: str) -> Any:
        if resource_class_from_type(resource_type) is None:
            reason = f"the embedded emulator does not support resource type {resource_type}"
            raise self._failed(logical_id, resource_type, None, "CREATE_FAILED", reason)
        _event(self.stack, logical_id, resource_type, None, "CREATE_IN_PROGRESS")
        parsed = self.resources._parsed_resources
        parsed.pop(logical_id, None)
        try:
            resource = self.resources[logical_id]  # moto's create, names generated as moto does
            converge = _converge_of(resource_type)
            if converge is not None:
                properties = self._properties(self.template["Resources"][logical_id])
                resource = converge(resource, None, properties, self.stack.account_id, self.stack.region_name)
        except Exception as error:
            raise self._failed(logical_id, resource_type, None, "CREATE_FAILED", error) from error
        _adopt(self.resources, logical_id, resource_type, resource)
        _event(self.stack, logical_id, resource_type, resource, "CREATE_COMPLETE")
        return resource

    def _replace(self, logical_id: str, resource_type: str, current: Any, replacing: list[str],
                 after: dict[str, Any]) -> None:  # fmt: skip
        name_property = _name_property(resource_type)
        if name_property and name_property in after and name_property not in replacing:
            reason = (
                "CloudFormation cannot update a stack when a custom-named resource requires replacing. "
                f"Rename {after[name_property]} and update the stack again."
            )
            raise self._failed(logical_id, resource_type, current, "UPDATE_FAILED", reason)
        _event(self.stack, logical_id, resource_type, current, "UPDATE_IN_PROGRESS",
               "Requested update requires the creation of a new physical resource; hence creating one.")  # fmt: skip
        try:
            replacement = self._create(logical_id, resource_type)
        finally:
            if self.resources._parsed_resources.get(logical_id) is None:
                self.resources._parsed_resources[logical_id] = current  # the create failed
        self.steps.append(Step("replace", logical_id, resource_type, replacement, before=current))

    def _update(self, logical_id: str, resource_type: str, current: Any, before: dict[str, Any],
                after: dict[str, Any]) -> None:  # fmt: skip
        _event(self.stack, logical_id, resource_type, current, "UPDATE_IN_PROGRESS")
        converge = _converge_of(resource_type) or _moto_update(resource_type, logical_id)
        if converge is None:
            changed = sorted(k for k in {*before, *after} if before.get(k) != after.get(k))
            reason = (
                f"the embedded emulator cannot update {resource_type} in place "
                f"(changed: {', '.join(changed)}); give the resource a new logical id to replace it"
            )
            raise self._failed(logical_id, resource_type, current, "UPDATE_FAILED", reason)
        # added before it runs: what converge changed before failing is put back with the rest
        step = Step("update", logical_id, resource_type, current, before=before, after=after)
        self.steps.append(step)
        try:
            step.resource = converge(current, before, after, self.stack.account_id, self.stack.region_name)
        except Exception as error:
            raise self._failed(logical_id, resource_type, current, "UPDATE_FAILED", error) from error
        _adopt(self.resources, logical_id, resource_type, step.resource)
        _event(self.stack, logical_id, resource_type, step.resource, "UPDATE_COMPLETE")

    def _cleanup(self) -> None:
        """Delete what the new template dropped and what was replaced, dependents first."""
        replaced = {step.logical_id: step.before for step in self.steps if step.action == "replace"}
        parsed = self.resources._parsed_resources
        for logical_id in reversed(dependency_order(self.previous.resource_json)):
            if logical_id in replaced:
                self._delete(logical_id, self.previous.resource_json[logical_id], replaced[logical_id])
            elif logical_id in self.live and logical_id not in self.visited:
                self._delete(logical_id, self.previous.resource_json[logical_id], self.live[logical_id])
                if parsed.get(logical_id) is self.live[logical_id]:
                    del parsed[logical_id]

    def _delete(self, logical_id: str, resource_json: dict[str, Any], resource: Any) -> None:
        resource_type = resource_json["Type"]
        if "Retain" in (resource_json.get("DeletionPolicy"), resource_json.get("UpdateReplacePolicy")):
            _event(self.stack, logical_id, resource_type, resource, "DELETE_SKIPPED")
            return
        _event(self.stack, logical_id, resource_type, resource, "DELETE_IN_PROGRESS")
        try:
            self.resources._delete_resource(resource, resource_json)
        except Exception as error:  # as on AWS, a cleanup that fails does not fail the update
            _event(self.stack, logical_id, resource_type, resource, "DELETE_FAILED", _reason(error))
            return
        _event(self.stack, logical_id, resource_type, resource, "DELETE_COMPLETE")


@dataclass
class PendingRollback:
    """What a rollback still has to undo, newest last; kept on the stack if it stops part way."""

    steps: list[Step]
    previous: MapState
    creating: bool
    restored: dict[str, Any] = field(default_factory=dict)  # updated resources put back, by id


def finish_rollback(stack: Stack, pending: PendingRollback, skip: frozenset[str] = frozenset()) -> None:
    """Undo `pending`'s steps newest first (those of `skip`'s resources are left as they are).
    The stack ends rolled back, or in UPDATE_ROLLBACK_FAILED with the rest kept on it for
    ContinueUpdateRollback."""
    while pending.steps:
        step = pending.steps[-1]
        if step.logical_id not in skip:
            try:
                _undo(stack, step, pending)
            except Exception as error:
                failed = "UPDATE_FAILED" if step.action == "update" else "DELETE_FAILED"
                _event(stack, step.logical_id, step.resource_type, step.resource, failed, _reason(error))
                stack.status = "ROLLBACK_FAILED" if pending.creating else "UPDATE_ROLLBACK_FAILED"
                setattr(stack, "emulator_pending_rollback", pending)  # noqa: B010 - an attribute moto does not declare
                stack._add_stack_event(stack.status, resource_status_reason=_reason(error))
                return
        pending.steps.pop()
    pending.previous.restore(stack.resource_map)
    stack.resource_map._parsed_resources.update(pending.restored)
    setattr(stack, "emulator_pending_rollback", None)  # noqa: B010 - an attribute moto does not declare
    if pending.creating:  # nothing of the template is left: no resources, no outputs, as on AWS
        stack.resource_map._resource_json_map = {}  # (moto creates a listed resource on first read)
        stack.output_map = OutputMap(stack.resource_map, {}, stack.stack_id)
    else:
        stack.output_map = stack._create_output_map()
    if pending.creating:
        stack.status = "ROLLBACK_COMPLETE"
    else:
        stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
        stack.status = "UPDATE_ROLLBACK_COMPLETE"
    stack._add_stack_event(stack.status)


def continue_rollback(stack: Stack, skip: frozenset[str]) -> None:
    """ContinueUpdateRollback: finish a rollback that stopped, skipping `skip`'s resources."""
    pending = getattr(stack, "emulator_pending_rollback", None)
    if pending is None:  # nothing left to undo (or a state saved before rollbacks existed)
        stack.status = "UPDATE_ROLLBACK_COMPLETE"
        stack._add_stack_event(stack.status)
        return
    stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
    stack._add_stack_event(stack.status)
    finish_rollback(stack, pending, skip)


def _undo(stack: Stack, step: Step, pending: PendingRollback) -> None:
    if step.action == "update":
        _event(stack, step.logical_id, step.resource_type, step.resource, "UPDATE_IN_PROGRESS")
        converge = _converge_of(step.resource_type) or _moto_update(step.resource_type, step.logical_id)
        if converge is None:  # cannot be: the update step ran one
            raise RuntimeError(f"no way to update {step.resource_type} back")
        step.resource = converge(step.resource, step.after, step.before, stack.account_id, stack.region_name)
        pending.restored[step.logical_id] = step.resource
        _event(stack, step.logical_id, step.resource_type, step.resource, "UPDATE_COMPLETE")
        return
    _event(stack, step.logical_id, step.resource_type, step.resource, "DELETE_IN_PROGRESS")
    # until the rollback ends the map holds the new template, which made this resource
    template = stack.resource_map._resource_json_map.get(step.logical_id) or {"Type": step.resource_type}
    stack.resource_map._delete_resource(step.resource, copy.deepcopy(template))
    _event(stack, step.logical_id, step.resource_type, step.resource, "DELETE_COMPLETE")


def live_resources(resources: ResourceMap) -> dict[str, Any]:
    """The resources a stack has now, by logical id."""
    parsed = resources._parsed_resources
    return {lid: parsed[lid] for lid in resources._resource_json_map if parsed.get(lid) is not None}


def _adopt(resources: ResourceMap, logical_id: str, resource_type: str, resource: Any) -> None:
    resource.cf_resource_type = resource_type
    resource.logical_resource_id = logical_id
    resources._parsed_resources[logical_id] = resource


def _event(stack: Stack, logical_id: str, resource_type: str, resource: Any, status: str,
           reason: str | None = None) -> None:  # fmt: skip
    physical = getattr(resource, "physical_resource_id", None)
    stack.events.append(
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id="" if physical is None else str(physical),
            resource_type=resource_type,
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        )
    )


def _moto_update(resource_type: str, logical_id: str) -> Converge | None:
    """moto's own update of a type no service here converges (CDK's bootstrap stack has some),
    or None where moto has none."""
    resource_class = resource_class_from_type(resource_type)
    update = getattr(resource_class, "update_from_cloudformation_json", None)
    if update is None or hasattr(update, "__isabstractmethod__"):
        return None

    def converge(
        resource: Any, old: dict[str, Any] | None, new: dict[str, Any], account_id: str, region: str
    ) -> Any:
        name = getattr(resource, "physical_resource_id", None) or logical_id
        return update(
            resource, name, {"Type": resource_type, "Properties": copy.deepcopy(new)}, account_id, region
        )

    return converge


def _name_property(resource_type: str) -> str | None:
    resource_class = resource_class_from_type(resource_type)
    return (resource_class.cloudformation_name_type() or None) if resource_class else None


def _reason(error: BaseException) -> str:
    """An error as a resource event's reason: moto's message, else the exception's text."""
    if isinstance(error, ValueError) and len(error.args) == 2:  # moto's Lambda raises (code, message)
        return f"{error.args[0]}: {error.args[1]}"
    message = getattr(error, "message", None) or str(error)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__
