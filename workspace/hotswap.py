"""`make deploy-local HOTSWAP=1` when only the functions' code changed: the package the synth would
build (`orders_infra.package`, the CDK app's own code) goes straight to each of the stack's functions
with UpdateFunctionCode, as the CDK's hotswap would, without the six seconds of CDK synth.
"""

import sys
from typing import Any

from workspace.targets import REPO, STACK, local_client

sys.path.insert(0, str(REPO / "cdk"))  # the CDK app's folder, as `cdk synth` runs it
from orders_infra import package


def push_code(endpoint: str, region: str) -> list[str]:
    """The current package into every function of the stack built from functions/; their names."""
    stack = local_client("cloudformation", endpoint, region)
    functions = local_client("lambda", endpoint, region)
    resources = stack.describe_stack_resources(StackName=STACK)["StackResources"]
    names = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::Lambda::Function"]
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
