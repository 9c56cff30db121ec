"""`make deploy-local HOTSWAP=1` when only the functions' code changed: the package the synth would
build (`orders_infra.package`, the CDK app's own code) goes straight to each of the stack's functions
with UpdateFunctionCode, as the CDK's hotswap would, without the six seconds of CDK synth.
"""

import functools
import importlib.util
from types import ModuleType
from typing import Any

from workspace.clients import local_client
from workspace.deployment import REPO, STACK


@functools.cache
def _package_builder() -> ModuleType:
    """`orders_infra.package` of this checkout's CDK app (a program of its own, with no CDK import
    in this module), loaded from its file: no sys.path edit, and never another checkout's."""
    path = REPO / "cdk" / "orders_infra" / "package.py"
    spec = importlib.util.spec_from_file_location("orders_infra_package", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def push_code(endpoint: str, region: str) -> list[str]:
    """The current package into every function of the stack built from functions/; their names."""
    stack = local_client("cloudformation", endpoint, region)
    functions = local_client("lambda", endpoint, region)
    resources = stack.describe_stack_resources(StackName=STACK)["StackResources"]
    names = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::Lambda::Function"]
    package = _package_builder()
    built: dict[str, bytes] = {}  # one package per runtime (all of ours share one)
    pushed = []
    for name in names:
        config: Any = functions.get_function_configuration(FunctionName=name)
        module = config["Handler"].rpartition(".")[0].replace(".", "/")
        if not (package.FUNCTIONS_DIR / f"{module}.py").is_file():
            continue  # not built from functions/
        runtime = config["Runtime"]
        if runtime not in built:
            built[runtime] = package.zipped(runtime)
        functions.update_function_code(FunctionName=name, ZipFile=built[runtime])
        functions.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
        pushed.append(name)
    return pushed
