"""Deploying the stack to a local target with cdklocal: `deploy_local` decides what a deploy
needs (nothing, the functions' code alone, or CDK's deploy) from the record of the last one, then
does it.

  skip      this stack on this endpoint was deployed from these very sources and context
  hotswap   only functions/ changed (HOTSWAP=1): its package straight to the functions, no synth
  full      bootstrap once, synth (cached by sources), `cdklocal deploy` (with HOTSWAP=1:
            --hotswap-fallback); a failure says where it left the stack and what to run next
"""

import contextlib
import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from emulator.settings import DEFAULT_REGION, LOCAL
from workspace import hotswap
from workspace.clients import LOCAL_ACCOUNT, local_api_url, local_client, local_env
from workspace.deployment import (
    REPO,
    STACK,
    Deployment,
    Outputs,
    deploy_fingerprint,
    read_json,
    read_outputs,
    record_file,
)

CDK_DIR = REPO / "cdk"
CDKLOCAL = REPO / "node_modules" / ".bin" / "cdklocal"


@dataclass(frozen=True)
class DeployRequest:
    endpoint: str
    outputs_file: Path
    region: str = DEFAULT_REGION
    context: Mapping[str, str] = field(default_factory=dict)  # CDK context beside target=local
    skip_unchanged: bool = True  # FORCE=1: False
    hotswap: bool = False  # HOTSWAP=1
    # "direct": CreateStack/UpdateStack, ~1.5 s and ~1.6 s of CPU less per update than "change-set",
    # the CLI's default (which waits for the change set and diffs the templates meanwhile)
    method: Literal["direct", "change-set"] = "direct"
    log: Path | None = None  # the CLI's output, appended
    progress: Callable[[str], None] = print


def decide(request: DeployRequest, wanted: dict[str, Any], record: dict[str, Any]) -> str:
    """ "skip", "hotswap" or "full", from what this deploy would produce (`wanted`: endpoint,
    sources' digests, stack id) and the record of the last one. A hotswap leaves the stack's
    template behind its functions, as on AWS: after one, only another hotswap may skip."""
    same = {key for key, value in wanted.items() if record.get(key) == value}
    if not request.outputs_file.exists():
        same = set()
    if request.skip_unchanged and same == set(wanted) and (request.hotswap or not record.get("hotswapped")):
        return "skip"
    if request.hotswap and same == set(wanted) - {"code"} and wanted["code"]:
        return "hotswap"
    return "full"


def deploy_local(request: DeployRequest) -> Outputs:
    """Deploy the stack as `decide` says; its outputs."""
    request.outputs_file.parent.mkdir(parents=True, exist_ok=True)
    record = read_json(record_file(request.outputs_file)) or {}
    wanted = {
        "endpoint": request.endpoint,
        **deploy_fingerprint(dict(request.context)),
        "stack_id": _stack_id(request.endpoint, request.region),
    }
    how = decide(request, wanted, record)
    if how == "skip":
        request.progress(
            f"deploy-local: {STACK} on {request.endpoint} was deployed from these very sources; "
            "skipped (FORCE=1 deploys anyway)"
        )
    elif how == "hotswap":
        _hotswap(request, wanted)
    else:
        _full(request, wanted, pushed_since=bool(record.get("hotswapped")))
    return read_outputs(request.outputs_file)


def _hotswap(request: DeployRequest, wanted: dict[str, Any]) -> None:
    started = time.monotonic()
    request.progress(
        "deploy-local: hotswap: only functions/ changed; its package straight to the functions ..."
    )
    pushed = hotswap.push_code(request.endpoint, request.region)
    record_file(request.outputs_file).write_text(json.dumps({**wanted, "hotswapped": True}))
    request.progress(
        f"deploy-local: {len(pushed)} functions updated in {time.monotonic() - started:.1f}s (no synth)"
    )


def _full(request: DeployRequest, wanted: dict[str, Any], pushed_since: bool) -> None:
    """`cdklocal deploy`; `pushed_since`: a hotswap ran after the last full deploy, so the
    template may equal the deployed one while the functions run newer code: pushed again."""
    endpoint, region, progress = request.endpoint, request.region, request.progress
    env = _cdklocal_env(endpoint, region)  # (asks node its version: only when cdklocal runs)
    if "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION" in env:
        progress(
            f"deploy-local: note: Node {node_major()} is end-of-life for the CDK; it works, {RECOMMENDED_NODE}+ is recommended"
        )
    _bootstrap_once(env, region, request.log, progress, request.outputs_file.parent.resolve() / "cdk.out")
    _finish_stopped_rollback(endpoint, region, progress)
    started = time.monotonic()
    assembly = synthesize(request)
    how = (
        "hotswap: code and configuration straight to the functions" if request.hotswap else "create or update"
    )
    progress(f"deploy-local: cdklocal deploy {STACK} (publish, {how}) ...")
    deploy = [
        "deploy",
        STACK,
        "--app",
        str(assembly),
        *(["--hotswap-fallback"] if request.hotswap else []),
        f"--method={request.method}",
        "--require-approval",
        "never",
        "--outputs-file",
        str(request.outputs_file.resolve()),
    ]
    try:
        _run_cdklocal(deploy, env, request.log)
    except RuntimeError as error:
        raise RuntimeError(f"{_failure(endpoint, region)}\n{error}") from None
    if pushed_since and not request.hotswap:
        hotswap.push_code(endpoint, region)
    record_file(request.outputs_file).write_text(
        json.dumps({**wanted, "stack_id": _stack_id(endpoint, region), "hotswapped": request.hotswap})
    )
    progress(
        f"deploy-local: deployed in {time.monotonic() - started:.1f}s; outputs in {request.outputs_file}"
    )


def synthesize(request: DeployRequest) -> Path:
    """What a full deploy of `request` synthesizes, done now (cached by sources and context, so that
    deploy reuses it): a caller that knows its next deploy can synthesize it while this one runs."""
    env = _cdklocal_env(request.endpoint, request.region)
    return _synthesized(dict(request.context), request.region, env, request.log, request.progress)


def local_deployment(
    target: str, endpoint: str, work: Path, region: str = DEFAULT_REGION, mailbox: Path | None = None
) -> Deployment:
    """The stack deployed (or found deployed) on a local target, quietly; work/ keeps its outputs and log."""
    outputs = deploy_local(
        DeployRequest(
            endpoint, work / "outputs.json", region, log=work / "deploy.log", progress=lambda _: None
        )
    )
    return Deployment(target, outputs, local_api_url(endpoint, outputs.api_id), endpoint, region, mailbox)


def destroy_local(endpoint: str, region: str = DEFAULT_REGION, log: Path | None = None) -> None:
    """`cdklocal destroy --force` of the stack on a local target."""
    with tempfile.TemporaryDirectory() as assembly:  # its synth is thrown away
        command = ["destroy", STACK, "--force", "--output", assembly, "-c", "target=local"]
        _run_cdklocal(command, _cdklocal_env(endpoint, region), log)


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
BOOTSTRAP_TEMPLATES = REPO / LOCAL / "bootstrap"  # `cdk bootstrap --show-template`, by CDK version


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
        # The CDK's built-in CloudFormation validation is ~70 % of a synth's CPU (a WASM engine);
        # the template is the one `make synth` builds for AWS, and tests/cdk require it to find
        # nothing there, so local synths skip it (cdk-nag still runs).
        "CDK_VALIDATION": "false",
    }
    major = node_major()
    if major is not None and major < RECOMMENDED_NODE:
        # jsii repeats a 12-line box about it per synth, and its Python side logs it as bytes
        # reprs (b'!!  Node 20 ...'); deploy_local says it once instead
        env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = str(major)
    return env


ASSEMBLIES = REPO / LOCAL / "assemblies"  # cloud assemblies by their sources, context and region
ASSEMBLIES_KEPT = 6  # the most recently used; and any used in the last ASSEMBLY_IN_USE_SECONDS
ASSEMBLY_IN_USE_SECONDS = 900  # another deploy may be reading it (`make test` runs several at once)


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
    _prune_assemblies()
    return assembly


def _prune_assemblies() -> None:
    """Old assemblies go, but never one being written, nor one another deploy may still be reading."""
    used: dict[Path, float] = {}
    for path in ASSEMBLIES.iterdir():
        with contextlib.suppress(OSError):  # (another deploy pruned it meanwhile)
            if path.is_dir() and "." not in path.name:  # never one being written
                used[path] = path.stat().st_mtime
    unused_since = time.time() - ASSEMBLY_IN_USE_SECONDS
    for old in sorted(used, key=used.__getitem__)[:-ASSEMBLIES_KEPT]:
        if used[old] < unused_since:
            shutil.rmtree(old, ignore_errors=True)


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
