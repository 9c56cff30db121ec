"""A deployed OrdersStack: its outputs, the record of what was deployed where (which tells `make
deploy-local` whether anything changed), and how to reach what it created."""

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from botocore.exceptions import ClientError
from orders.keys import order_key

from emulator.ctl import health
from emulator.settings import DEFAULT_REGION, OUTPUTS
from workspace.clients import local_client

REPO = Path(__file__).resolve().parents[1]
STACK = "OrdersStack"
LOG_GROUP_OUTPUTS = {
    "create": "CreateOrderLogGroup",
    "process": "ProcessOrderLogGroup",
    "get": "GetOrderLogGroup",
    "access": "ApiAccessLogGroup",
}


@dataclass(frozen=True)
class Outputs:
    api_url: str
    api_id: str
    queue_url: str
    dlq_url: str
    table_name: str
    alarm_topic_arn: str
    dashboard_name: str
    log_groups: dict[str, str]  # "create" | "process" | "get" | "access" -> log group name

    @staticmethod
    def from_dict(values: dict[str, str]) -> "Outputs":
        return Outputs(
            api_url=values["ApiUrl"],
            api_id=values["ApiId"],
            queue_url=values["QueueUrl"],
            dlq_url=values["DlqUrl"],
            table_name=values["TableName"],
            alarm_topic_arn=values["AlarmTopicArn"],
            dashboard_name=values["DashboardName"],
            log_groups={name: values[output] for name, output in LOG_GROUP_OUTPUTS.items()},
        )


# What `cdk synth` reads: the same files and context give the same template. The functions' code
# (functions/ with its requirements: one package) apart, as a code-only change can skip the synth.
INFRA_SOURCES = ("cdk/app.py", "cdk/cdk.json", "cdk/orders_infra", "package-lock.json", "pyproject.toml")
CODE_SOURCES = ("functions",)


def deploy_fingerprint(context: dict[str, str]) -> dict[str, str]:
    """Digests of the deploy's sources: `code`, the functions' package, and `infra`, the rest and the
    context. Hot-reloaded functions run from functions/ itself, so only their requirements (the
    layer) are part of the template then, as infrastructure."""
    reloaded = "hotReload" in context
    infra = [*INFRA_SOURCES, *(["functions/requirements.txt"] if reloaded else [])]
    return {
        "infra": _digest(infra, json.dumps(sorted(context.items()))),
        "code": "" if reloaded else _digest(CODE_SOURCES),
    }


def _digest(sources: Sequence[str], extra: str = "") -> str:
    digest = hashlib.sha256(extra.encode())
    for source in sources:
        root = REPO / source
        for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def record_file(outputs_file: Path) -> Path:
    """Where the deploy that wrote `outputs_file` recorded its fingerprint, endpoint and stack."""
    return outputs_file.with_name("deployed.json")


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def read_outputs(outputs_file: Path) -> Outputs:
    try:
        values = json.loads(outputs_file.read_text())[STACK]
    except (FileNotFoundError, KeyError, ValueError) as error:
        raise RuntimeError(f"no {STACK} outputs in {outputs_file}: run `make deploy-local`") from error
    try:
        return Outputs.from_dict(values)
    except KeyError as error:
        raise RuntimeError(
            f"{outputs_file} has no {error} output (an older deploy): run `make deploy-local`"
        ) from error


def require_running(endpoint: str) -> None:
    if health(endpoint) is None:
        raise RuntimeError(f"nothing answers on {endpoint}: start it with `make local-up` (or `make up`)")


def require_deployment(endpoint: str, outputs_file: Path = OUTPUTS) -> Outputs:
    """The outputs of the OrdersStack that is deployed on the running local target."""
    require_running(endpoint)
    outputs = read_outputs(outputs_file)
    cloudformation = local_client("cloudformation", endpoint)
    try:
        [stack] = cloudformation.describe_stacks(StackName=STACK)["Stacks"]
    except ClientError:
        stack = {}
    deployed = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    if deployed.get("ApiId") != outputs.api_id:
        raise RuntimeError(
            f"{STACK} of {outputs_file} is not deployed on {endpoint} (the emulator was restarted since, "
            "and keeps no state yet): run `make deploy-local`"
        )
    return outputs


@dataclass
class Deployment:
    """A deployed OrdersStack on some target, and how to reach it."""

    target: str
    outputs: Outputs
    api_url: str
    endpoint: str | None = None  # the local edge endpoint; None on AWS
    region: str = DEFAULT_REGION
    mailbox: Path | None = None  # where the target's SNS email lands, where it has a local mailbox

    def client(self, service: str) -> Any:
        if self.endpoint is not None:
            return local_client(service, self.endpoint, self.region)
        import boto3

        return boto3.client(service, region_name=self.region)  # type: ignore[call-overload]

    def function_name(self, handler_module: str) -> str:
        """The deployed function whose handler is `<handler_module>.handler`."""
        paginator = self.client("lambda").get_paginator("list_functions")
        for page in paginator.paginate():
            for fn in page["Functions"]:
                if fn.get("Handler") == f"{handler_module}.handler" and self._in_stack(fn["FunctionName"]):
                    return str(fn["FunctionName"])
        raise LookupError(f"no deployed function with handler {handler_module}.handler")

    @staticmethod
    def _in_stack(function_name: str) -> bool:
        return STACK in function_name

    def order_items(self, order_id: str) -> list[dict[str, Any]]:
        """Every table item under the order's partition (exactly one once it is stored)."""
        return self.client("dynamodb").query(
            TableName=self.outputs.table_name,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": order_key(order_id)["PK"]}},
            ConsistentRead=True,
        )["Items"]

    def messages_in_queue(self) -> int:
        """OrdersQueue's visible, in-flight and delayed messages."""
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=self.outputs.queue_url, AttributeNames=names
        )["Attributes"]
        return sum(int(attributes[name]) for name in names)

    def log_group(self, function_name: str) -> str:
        config = self.client("lambda").get_function(FunctionName=function_name)["Configuration"]
        return str(config.get("LoggingConfig", {}).get("LogGroup") or f"/aws/lambda/{function_name}")

    def access_log_group(self) -> str:
        """The HTTP API's $default stage access log group."""
        stages = self.client("apigatewayv2").get_stages(ApiId=self.outputs.api_id)["Items"]
        [stage] = [s for s in stages if s["StageName"] == "$default"]
        return str(stage["AccessLogSettings"]["DestinationArn"]).split(":log-group:", 1)[1].removesuffix(":*")

    def log_lines(self, function_name: str, contains: str | None = None, limit: int = 10_000) -> list[str]:
        return self.group_lines(self.log_group(function_name), contains, limit)

    def group_lines(self, log_group: str, contains: str | None = None, limit: int = 10_000) -> list[str]:
        logs = self.client("logs")
        args: dict[str, Any] = {"logGroupName": log_group, "limit": limit}
        if contains:
            args["filterPattern"] = f'"{contains}"'
        lines: list[str] = []
        while True:
            page = logs.filter_log_events(**args)
            lines += [e["message"] for e in page["events"]]
            token = page.get("nextToken")
            if not token or len(lines) >= limit:
                return lines
            args["nextToken"] = token


def aws_deployment(region: str | None = None) -> Deployment:
    """An OrdersStack already deployed to AWS (`make deploy`); reads its outputs, creates nothing."""
    import boto3

    client = boto3.client("cloudformation", region_name=region)
    stack = client.describe_stacks(StackName=STACK)["Stacks"][0]
    outputs = Outputs.from_dict({o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])})
    return Deployment("aws", outputs, outputs.api_url.rstrip("/"), None, client.meta.region_name)


def one_order_through(api: str, timeout: float = 15.0, request_timeout: float = 10.0) -> str:
    """POST one order to the API at `api` and GET it back once processed; a one-line summary, or
    RuntimeError saying where it stopped."""
    started = time.monotonic()
    created = requests.post(
        f"{api}/orders", json={"amount": 99.99, "currency": "EUR"}, timeout=request_timeout
    )
    if created.status_code != 202:
        raise RuntimeError(f"POST /orders answered {created.status_code}: {created.text}")
    order_id = created.json()["orderId"]
    while time.monotonic() - started < timeout:
        found = requests.get(f"{api}/orders/{order_id}", timeout=request_timeout)
        if found.status_code == 200:
            order = found.json()
            if order["amount"] != 99.99 or order["currency"] != "EUR":
                raise RuntimeError(f"GET returned a different order: {order}")
            return f"order {order_id} accepted and stored in {time.monotonic() - started:.2f}s"
        if found.status_code != 404:
            raise RuntimeError(f"GET /orders/{order_id} answered {found.status_code}: {found.text}")
        time.sleep(0.1)
    raise RuntimeError(f"order {order_id} not visible after {timeout:.0f}s: see `make logs FUNCTION=process`")
