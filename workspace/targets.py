"""The target layer: where the stack runs and how to reach it.

Local targets (the embedded emulator, LocalStack, Floci) all listen on one edge port and are
deployed with cdklocal; `aws` is reached through the outputs of a stack already deployed.
"""

import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orders.keys import order_key

from emulator.ctl import health

REPO = Path(__file__).resolve().parents[1]
CDK_DIR = REPO / "cdk"
CDKLOCAL = REPO / "node_modules" / ".bin" / "cdklocal"
LOCAL_ACCOUNT = "000000000000"
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


def local_env(endpoint: str, region: str = "us-east-1") -> dict[str, str]:
    """Environment for AWS SDKs and cdklocal talking to a local edge endpoint.

    cdklocal's default host (localhost.localstack.cloud) needs public DNS; the explicit endpoint
    variables keep everything on loopback.
    """
    return {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ENDPOINT_URL_S3": endpoint,
        "CDK_DISABLE_VERSION_CHECK": "1",
    }


def default_stage_segment(status: dict[str, object] | None) -> str:
    """What follows the API id in the path form to reach the $default stage on the target whose
    health answer this is. LocalStack's form (`/_aws/execute-api/{apiId}/{path}`, which the embedded
    emulator and ministack serve too) leaves the stage out; Floci requires it
    (`/_aws/execute-api/{apiId}/{stageName}/...`) and names itself in `original_edition`."""
    edition = str((status or {}).get("original_edition", ""))
    return "/$default" if edition.startswith("floci") else ""


def local_api_url(endpoint: str, api_id: str) -> str:
    """The path form of an HTTP API's $default stage on the local target at `endpoint`."""
    endpoint = endpoint.rstrip("/")
    return f"{endpoint}/_aws/execute-api/{api_id}{default_stage_segment(health(endpoint))}"


def _run_cdklocal(args: list[str], env: dict[str, str], log: Path | None) -> None:
    if not CDKLOCAL.exists():
        raise RuntimeError("cdklocal is missing: run `make setup` (npm ci)")
    command = [str(CDKLOCAL), *args]
    result = subprocess.run(command, cwd=CDK_DIR, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if log is not None:
        with open(log, "a") as handle:
            handle.write(f"$ {' '.join(args)}\n{result.stdout}\n{result.stderr}\n")
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-25:])
        raise RuntimeError(f"cdklocal {args[0]} failed (exit {result.returncode}):\n{tail}")


def local_client(service: str, endpoint: str, region: str = "us-east-1") -> Any:
    import boto3

    env = local_env(endpoint, region)
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


# What `cdk bootstrap` passes for its default template (read from the CDKToolkit stack it created)
BOOTSTRAP_PARAMETERS = {
    "TrustedAccounts": "",
    "TrustedAccountsForLookup": "",
    "CloudFormationExecutionPolicies": "",
    "FileAssetsBucketName": "",
    "FileAssetsBucketKmsKeyId": "AWS_MANAGED_KEY",
    "ContainerAssetsRepositoryName": "",
    "Qualifier": "hnb659fds",
    "PublicAccessBlockConfiguration": "true",
    "InputPermissionsBoundary": "",
    "UseExamplePermissionsBoundary": "false",
    "ApplyPermissionsBoundaryToAllRoles": "false",
    "BootstrapVariant": "AWS CDK: Default Resources",
    "DenyExternalId": "true",
}
BOOTSTRAP_TEMPLATES = REPO / ".local" / "bootstrap"  # `cdk bootstrap --show-template`, by CDK version


def _bootstrap_template(env: dict[str, str]) -> str:
    version = json.loads((REPO / "node_modules" / "aws-cdk" / "package.json").read_text())["version"]
    cached = BOOTSTRAP_TEMPLATES / f"{version}.yaml"
    if not cached.is_file():
        shown = subprocess.run(  # noqa: S603 - fixed arguments
            [str(CDKLOCAL), "bootstrap", "--show-template"], cwd=CDK_DIR, env=env, capture_output=True,
            text=True, check=True,
        )  # fmt: skip
        BOOTSTRAP_TEMPLATES.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}")
        partial.write_text(shown.stdout)
        partial.replace(cached)  # whole or not at all
    return cached.read_text()


def _bootstrap_once(
    env: dict[str, str], region: str, log: Path | None, progress: Any, assembly: Path
) -> None:
    """The CDKToolkit stack `cdk bootstrap` creates, unless the target has it already: its own
    template and parameters, created with one CreateStack (~0.5 s; the CLI's bootstrap took ~10 s,
    most of it polling). Where that fails, `cdklocal bootstrap` itself."""
    endpoint = env["AWS_ENDPOINT_URL"]
    if _stack_id(endpoint, region, "CDKToolkit") is not None:
        return
    started = time.monotonic()
    progress(f"deploy-local: bootstrapping aws://{LOCAL_ACCOUNT}/{region} (the CDKToolkit stack) ...")
    cloudformation = local_client("cloudformation", endpoint, region)
    try:
        cloudformation.create_stack(
            StackName="CDKToolkit", TemplateBody=_bootstrap_template(env), Capabilities=["CAPABILITY_NAMED_IAM"],
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in BOOTSTRAP_PARAMETERS.items()],
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while (status := _stack(endpoint, region, "CDKToolkit")) and status["StackStatus"].endswith(
            "_IN_PROGRESS"
        ):
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        created = status is not None and status["StackStatus"] == "CREATE_COMPLETE"
    except Exception as error:  # the template or the target refused it: the CLI's way below
        created, status = False, {"StackStatusReason": str(error)}
    if not created:
        if log is not None:
            with open(log, "a") as handle:
                handle.write(
                    f"CreateStack CDKToolkit did not complete ({status}); cdklocal bootstrap instead\n"
                )
        if _stack_id(endpoint, region, "CDKToolkit") is not None:
            cloudformation.delete_stack(StackName="CDKToolkit")
        _run_cdklocal(["bootstrap", f"aws://{LOCAL_ACCOUNT}/{region}", "--output", str(assembly)], env, log)
    progress(f"deploy-local: bootstrapped in {time.monotonic() - started:.1f}s")


RECOMMENDED_NODE = 22


@functools.cache
def node_major() -> int | None:
    node = shutil.which("node")
    if node is None:
        return None
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout  # noqa: S603
    return int(version.strip().lstrip("v").split(".")[0]) if version.strip() else None


def _cdklocal_env(endpoint: str, region: str) -> dict[str, str]:
    env = {
        **os.environ,
        **local_env(endpoint, region),
        "PATH": f"{REPO / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
        # cdklocal 3.x drops AWS_* variables it is not told to keep (its README): the region too
        "AWS_ENVAR_ALLOWLIST": "AWS_REGION,AWS_DEFAULT_REGION",
    }
    major = node_major()
    if major is not None and major < RECOMMENDED_NODE:
        # jsii repeats a 12-line box about it per synth, and its Python side logs it as bytes
        # reprs (b'!!  Node 20 ...'); deploy_local says it once instead
        env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = str(major)
    return env


def destroy_local(endpoint: str, region: str = "us-east-1", log: Path | None = None) -> None:
    """`cdklocal destroy --force` of the stack on a local target."""
    with tempfile.TemporaryDirectory() as assembly:  # its synth is thrown away
        command = ["destroy", STACK, "--force", "--output", assembly, "-c", "target=local"]
        _run_cdklocal(command, _cdklocal_env(endpoint, region), log)


def deploy_local(
    endpoint: str,
    outputs_file: Path,
    region: str = "us-east-1",
    log: Path | None = None,
    progress: Any = print,
    context: dict[str, str] | None = None,
    skip_unchanged: bool = True,
    hotswap: bool = False,
) -> Outputs:
    """`cdklocal bootstrap` (once per emulator) + `cdklocal deploy -c target=local` (plus any other
    `context` values); returns the outputs. Skipped when this stack on this endpoint was deployed
    from the same sources and context (`skip_unchanged`). `hotswap`: when only the functions' code
    changed, the package goes straight to the functions (no synth); otherwise Lambda code and
    configuration changes do (`--hotswap-fallback`: anything else is deployed in full).

    A hotswap leaves the stack's template behind its functions, as on AWS; `.local/deployed.json`
    says so, and the next full deploy is never skipped and pushes the code again afterwards (the
    template may equal the deployed one while the functions run newer code)."""
    outputs_file.parent.mkdir(parents=True, exist_ok=True)
    record_file = outputs_file.with_name("deployed.json")
    record = _read_json(record_file) or {}
    wanted = {
        "endpoint": endpoint,
        **deploy_fingerprint(context or {}),
        "stack_id": _stack_id(endpoint, region),
    }
    same = (
        {key for key, value in wanted.items() if record.get(key) == value} if outputs_file.exists() else set()
    )
    if skip_unchanged and same == set(wanted) and (hotswap or not record.get("hotswapped")):
        progress(
            f"deploy-local: {STACK} on {endpoint} was deployed from these very sources; "
            "skipped (FORCE=1 deploys anyway)"
        )
        return read_outputs(outputs_file)
    if hotswap and same == set(wanted) - {"code"} and wanted["code"]:
        from workspace.hotswap import push_code  # imports the CDK app's package builder

        started = time.monotonic()
        progress("deploy-local: hotswap: only functions/ changed; its package straight to the functions ...")
        pushed = push_code(endpoint, region)
        record_file.write_text(json.dumps({**wanted, "hotswapped": True}))
        progress(
            f"deploy-local: {len(pushed)} functions updated in {time.monotonic() - started:.1f}s (no synth)"
        )
        return read_outputs(outputs_file)
    env = _cdklocal_env(endpoint, region)  # (asks node its version: only when cdklocal runs)
    if "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION" in env:
        progress(
            f"deploy-local: note: Node {node_major()} is end-of-life for the CDK; it works, {RECOMMENDED_NODE}+ is recommended"
        )
    _bootstrap_once(env, region, log, progress, outputs_file.parent.resolve() / "cdk.out")
    _finish_stopped_rollback(endpoint, region, progress)
    started = time.monotonic()
    assembly = _synthesized(context or {}, region, env, log, progress)
    how = "hotswap: code and configuration straight to the functions" if hotswap else "create or update"
    progress(f"deploy-local: cdklocal deploy {STACK} (publish, {how}) ...")
    deploy = [
        "deploy",
        STACK,
        "--app",
        str(assembly),
        *(["--hotswap-fallback"] if hotswap else []),
        "--require-approval",
        "never",
        "--outputs-file",
        str(outputs_file.resolve()),
    ]
    try:
        _run_cdklocal(deploy, env, log)
    except RuntimeError as error:
        raise RuntimeError(f"{_failure(endpoint, region)}\n{error}") from None
    if record.get("hotswapped") and not hotswap:
        from workspace.hotswap import push_code

        push_code(endpoint, region)
    record_file.write_text(
        json.dumps({**wanted, "stack_id": _stack_id(endpoint, region), "hotswapped": hotswap})
    )
    progress(f"deploy-local: deployed in {time.monotonic() - started:.1f}s; outputs in {outputs_file}")
    return read_outputs(outputs_file)


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


ASSEMBLIES = REPO / ".local" / "assemblies"  # cloud assemblies by their sources, context and region
ASSEMBLIES_KEPT = 6


def _synthesized(
    context: dict[str, str], region: str, env: dict[str, str], log: Path | None, progress: Any
) -> Path:
    """The stack's cloud assembly for these sources, context and region: synthesized once (CDK's
    synth and bundling, ~6 s of a deploy), then deployed as often as wanted (`make up` after
    `make local-reset`, a revert, another emulator). Written whole or not at all, so two deploys
    at once never share a half-written one."""
    key = json.dumps({**deploy_fingerprint(context), "region": region, "repo": str(REPO)}, sort_keys=True)
    assembly = ASSEMBLIES / hashlib.sha256(key.encode()).hexdigest()[:20]
    if assembly.is_dir():
        progress(f"deploy-local: these sources and context were synthesized before ({assembly.name}): reused")
        assembly.touch()  # recently used: kept
        return assembly
    ASSEMBLIES.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=ASSEMBLIES, prefix=f"{assembly.name}."))
    progress(f"deploy-local: cdklocal synth {STACK} (synth, bundle) ...")
    context_args = [
        arg for key, value in {"target": "local", **context}.items() for arg in ("-c", f"{key}={value}")
    ]
    try:
        _run_cdklocal(["synth", STACK, "--quiet", "--output", str(partial), *context_args], env, log)
        partial.rename(assembly)
    except OSError:  # another deploy synthesized the same first
        shutil.rmtree(partial, ignore_errors=True)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    for old in sorted((p for p in ASSEMBLIES.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)[
        :-ASSEMBLIES_KEPT
    ]:
        if "." not in old.name:  # never one being written
            shutil.rmtree(old, ignore_errors=True)
    return assembly


STABLE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE")  # deployed and usable


def _stack(endpoint: str, region: str, name: str = STACK) -> dict[str, Any] | None:
    client = local_client("cloudformation", endpoint, region)
    try:
        [stack] = client.describe_stacks(StackName=name)["Stacks"]
    except client.exceptions.ClientError:
        return None
    return dict(stack)


def _stack_id(endpoint: str, region: str, name: str = STACK) -> str | None:
    """The id of stack `name` on the target, when it is deployed and in a stable state."""
    stack = _stack(endpoint, region, name)
    return str(stack["StackId"]) if stack and stack["StackStatus"] in STABLE else None


def _finish_stopped_rollback(endpoint: str, region: str, progress: Any) -> None:
    """A rollback that stopped (UPDATE_ROLLBACK_FAILED) is finished first, as `cdk rollback` does
    on AWS; the CDK would refuse to deploy onto the stack until then."""
    stack = _stack(endpoint, region)
    if stack and stack["StackStatus"] == "UPDATE_ROLLBACK_FAILED":
        progress(
            f"deploy-local: {STACK}'s last rollback had stopped; finishing it (ContinueUpdateRollback) ..."
        )
        local_client("cloudformation", endpoint, region).continue_update_rollback(StackName=STACK)


def _failure(endpoint: str, region: str) -> str:
    """One line on where a failed deploy left the stack and what to do next."""
    stack = _stack(endpoint, region)
    if stack is None:
        return f"{STACK} was not deployed:"
    status = stack["StackStatus"]
    events = local_client("cloudformation", endpoint, region).describe_stack_events(StackName=STACK)[
        "StackEvents"
    ]
    cause = next(
        (f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}" for e in reversed(events)
         if e["ResourceStatus"].endswith("_FAILED") and e["ResourceType"] != "AWS::CloudFormation::Stack"),
        "see the CDK's output below",
    )  # fmt: skip
    if status == "UPDATE_ROLLBACK_COMPLETE":
        return (f"{STACK} was rolled back to its previous deploy, its data kept ({status}) because {cause}; "
                "fix the change and run `make deploy-local` again")  # fmt: skip
    if status == "ROLLBACK_COMPLETE":
        return f"{STACK} could not be created ({status}) because {cause}; fix it and run `make deploy-local` again"
    if status == "UPDATE_ROLLBACK_FAILED":
        return (f"{STACK}'s rollback stopped ({status}) at {cause}; the next `make deploy-local` finishes it "
                "before deploying")  # fmt: skip
    return f"{STACK} was not changed ({status}): the CDK stopped before deploying:"


def _read_json(path: Path) -> Any:
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


def docker_available() -> bool:
    """True when a Docker engine answers (not just a client on PATH)."""
    docker = shutil.which("docker")
    if docker is None:
        return False
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True, check=False, timeout=10
    )
    return result.returncode == 0


@dataclass
class Deployment:
    """A deployed OrdersStack on some target, and how to reach it."""

    target: str
    outputs: Outputs
    api_url: str
    endpoint: str | None = None  # the local edge endpoint; None on AWS
    region: str = "us-east-1"
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


def local_deployment(
    target: str, endpoint: str, work: Path, region: str = "us-east-1", mailbox: Path | None = None
) -> Deployment:
    outputs = deploy_local(
        endpoint, work / "outputs.json", region=region, log=work / "deploy.log", progress=lambda _: None
    )
    return Deployment(target, outputs, local_api_url(endpoint, outputs.api_id), endpoint, region, mailbox)
