"""`python -m workspace deploy|watch|smoke|url|env|logs|reset|mail|alarms|iam-report|fire|console`: the commands behind `make up`,
`make deploy-local`, `make watch`, `make smoke`, `make env`, `make logs`, `make mail` and `make alarms`, against the
local target.

Each finds the endpoint as `emulator.ctl.local_endpoint()` does (EMULATOR_PORT or LOCAL_ENDPOINT
when set, else the one `make local-up` remembered) and, when what it needs is missing, says so in
one line with the command that fixes it.
"""

import argparse
import json
import os
import shlex
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from botocore.exceptions import BotoCoreError, ClientError

from emulator.cloudwatch.dashboards import DASHBOARDS_PATH
from emulator.console import CONSOLE_PATH, TRACES_PATH
from emulator.ctl import health, local_endpoint
from emulator.events.schedule import FIRE_PATH
from emulator.iam.calls import CHECKED_SERVICES
from emulator.settings import DEPLOY_LOG, OUTPUTS, SAVED_STATE
from workspace import mail
from workspace.clients import local_api_url, local_client, local_env
from workspace.deploy import DeployRequest, deploy_local
from workspace.deployment import (
    STACK,
    one_order_through,
    read_outputs,
    require_deployment,
    require_running,
)

REPO = Path(__file__).resolve().parents[1]


def smoke(endpoint: str) -> str:
    """`make smoke`: one order through the deployment on `endpoint`; a one-line summary."""
    outputs = require_deployment(endpoint)
    return one_order_through(local_api_url(endpoint, outputs.api_id))


def url(endpoint: str) -> str:
    outputs = require_deployment(endpoint)
    api = local_api_url(endpoint, outputs.api_id)
    body = json.dumps({"amount": 99.99, "currency": "EUR"})
    embedded = (health(endpoint) or {}).get("edition") == "embedded"
    dashboard = f"{endpoint}{DASHBOARDS_PATH}{quote(outputs.dashboard_name, safe='')}"
    return (
        f"\nLocal API: {api}\n\n"
        f"  curl -s -X POST {api}/orders -H 'content-type: application/json' -d '{body}'\n"
        f"  curl -s {api}/orders/<orderId>\n\n"
        + (
            f"The stack's dashboard, rendered: {dashboard}\nTraces: {endpoint}{TRACES_PATH}\n"
            if embedded
            else ""
        )
        + 'AWS CLI against it: eval "$(make -s env)"; then `awslocal sqs list-queues` or `aws ...`\n'
        "Follow a function's log: make logs FUNCTION=create|process|get|access\n"
        "Stop everything with: make local-down"
    )


ENV_NAMES = {  # shell variable -> Outputs attribute
    "API_URL": None,  # the local URL, not the AWS-style ApiUrl output
    "API_ID": "api_id",
    "QUEUE_URL": "queue_url",
    "DLQ_URL": "dlq_url",
    "TABLE_NAME": "table_name",
    "ALARM_TOPIC_ARN": "alarm_topic_arn",
    "DASHBOARD_NAME": "dashboard_name",
}


def env_lines(endpoint: str) -> list[str]:
    """`export` lines for the AWS CLI/SDKs (and awslocal) against the local endpoint, plus the
    stack's outputs when it has been deployed: `eval "$(make -s env)"`."""
    values = {name: value for name, value in local_env(endpoint).items() if name.startswith("AWS_")}
    # plain `aws` (CLI v1) honours AWS_ENDPOINT_URL except `aws sqs` in us-east-1, which it pins to
    # queue.amazonaws.com; awslocal passes --endpoint-url and works for every service
    values["LOCALSTACK_HOST"] = endpoint.split("://", 1)[-1]  # what awslocal reads
    values["DISABLE_DEPRECATION_NOTICE"] = "1"  # awslocal's 18-line pointer to LocalStack's lstk, per call
    values["PATH"] = f"{REPO / '.venv' / 'bin'}:$PATH"
    lines = [f'# the local target on {endpoint}; use: eval "$(make -s env)"']
    lines += [
        f"export {name}={value if name == 'PATH' else shlex.quote(value)}" for name, value in values.items()
    ]
    try:
        outputs = read_outputs(OUTPUTS)
    except RuntimeError as missing:
        return [*lines, f"# {missing}"]
    lines.append(f"# {STACK} outputs ({OUTPUTS})")
    for name, attribute in ENV_NAMES.items():
        value = local_api_url(endpoint, outputs.api_id) if attribute is None else getattr(outputs, attribute)
        lines.append(f"export {name}={shlex.quote(value)}")
    for short, group in outputs.log_groups.items():
        lines.append(f"export {short.upper()}_LOG_GROUP={shlex.quote(group)}")
    return lines


def log_events(
    logs: Any,
    group: str,
    lines: int,
    follow: bool,
    poll: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[dict[str, Any]]:
    """The group's last `lines` events in time order, then (with `follow`) every new one as it
    arrives, as `aws logs tail --follow` does."""
    streams = logs.describe_log_streams(
        logGroupName=group, orderBy="LastEventTime", descending=True, limit=10
    )["logStreams"]
    recent: list[dict[str, Any]] = []
    for stream in streams:
        recent += logs.get_log_events(
            logGroupName=group, logStreamName=stream["logStreamName"], limit=lines, startFromHead=False
        )["events"]
    recent.sort(key=lambda e: e["timestamp"])
    seen: set[tuple[int, str]] = set()
    since = 0
    for event in recent[-lines:] if lines else []:
        yield event
    for event in recent:
        seen.add((event["timestamp"], event["message"]))
        since = max(since, event["timestamp"])
    while follow:
        sleep(poll)
        args: dict[str, Any] = {"logGroupName": group, "startTime": since}
        while True:
            page = logs.filter_log_events(**args)
            for event in sorted(page["events"], key=lambda e: e["timestamp"]):
                key = (event["timestamp"], event["message"])
                if key not in seen:
                    seen.add(key)
                    since = max(since, event["timestamp"])
                    yield event
            if not page.get("nextToken"):
                break
            args["nextToken"] = page["nextToken"]


def follow_logs(endpoint: str, function: str, lines: int, follow: bool) -> None:
    outputs = require_deployment(endpoint)
    if function not in outputs.log_groups:
        raise RuntimeError(f"FUNCTION must be one of {', '.join(outputs.log_groups)} (got {function!r})")
    group = outputs.log_groups[function]
    print(f"==> {group}" + (" (following; Ctrl-C stops)" if follow else ""), file=sys.stderr, flush=True)
    for event in log_events(local_client("logs", endpoint), group, lines, follow):
        print(event["message"].rstrip("\n"), flush=True)


def deploy_context() -> dict[str, str]:
    """The CDK context of a local deploy: where alarms mail, whether functions hot-reload, and any
    other values in CONTEXT ("extensionStep=2 memorySize=512": docs/extending.md)."""
    context = {"alarmEmail": os.environ.get("ALARM_EMAIL") or mail.DEFAULT_ALARM_EMAIL}
    if os.environ.get("HOT_RELOAD") == "1":  # the functions run from functions/, saved changes live
        context["hotReload"] = "true"
    for pair in os.environ.get("CONTEXT", "").split():
        key, equals, value = pair.partition("=")
        if not (key and equals):
            raise RuntimeError(
                f'CONTEXT takes key=value pairs, got {pair!r} (e.g. CONTEXT="extensionStep=2")'
            )
        context[key] = value
    return context


def watch(endpoint: str) -> str:
    """`make watch`: deploy, then hotswap each saved change under cdk/ or functions/, until Ctrl-C.
    (cdklocal watch cannot: it watches only below cdk/, and functions/ is beside it.)"""
    from watchfiles import DefaultFilter
    from watchfiles import watch as changes

    print(f"deploy-local: {deploy(endpoint)}", flush=True)
    ignored = DefaultFilter(ignore_dirs=(*DefaultFilter.ignore_dirs, "cdk.out", "node_modules"))
    print("watch: watching cdk/ and functions/; Ctrl-C stops", flush=True)
    for changed in changes(REPO / "cdk", REPO / "functions", watch_filter=ignored):
        names = sorted({Path(path).relative_to(REPO).as_posix() for _, path in changed})
        print(f"watch: {', '.join(names)} changed", flush=True)
        try:
            deploy_local(
                DeployRequest(
                    endpoint,
                    OUTPUTS,
                    log=DEPLOY_LOG,
                    progress=lambda text: print(text, flush=True),
                    context=deploy_context(),
                    hotswap=True,
                )
            )
        except RuntimeError as error:  # a broken edit: say so and wait for the next one
            print(f"watch: {error}", file=sys.stderr, flush=True)
    return "stopped"


def deploy(endpoint: str) -> str:
    """Deploy the stack with the alarm topic subscribed to ALARM_EMAIL, and confirm that address
    through the link mailed to it, as its owner would, so alarms reach the mailbox from the start."""
    require_running(endpoint)
    context = deploy_context()
    address = context["alarmEmail"]
    outputs = deploy_local(
        DeployRequest(
            endpoint,
            OUTPUTS,
            log=DEPLOY_LOG,
            context=context,
            skip_unchanged=os.environ.get("FORCE") != "1",
            hotswap=os.environ.get("HOTSWAP") == "1",
        )
    )
    sns = local_client("sns", endpoint)
    deadline = time.monotonic() + 5  # the confirmation message is written as the stack subscribes
    while True:
        outcome = mail.confirm_subscription(sns, outputs.alarm_topic_arn, address)
        if "no confirmation message" not in outcome or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    reload = (
        "; hot reload: saved changes under functions/ run at the next request"
        if "hotReload" in context
        else ""
    )
    return f"alarm email: {outcome}; `make mail` lists the mailbox{reload}"


def iam_report(endpoint: str) -> list[str]:
    """Per function of the stack: the actions its role was used for, and the granted actions it
    never used (candidates to remove), so least privilege is measured, not assumed."""
    require_deployment(endpoint)
    used = requests.get(f"{endpoint}/_emulator/iam/report", timeout=10).json()
    iam, functions = local_client("iam", endpoint), local_client("lambda", endpoint)
    lines = []
    for module in ("create_order", "process_order", "get_order"):
        name = next(
            f["FunctionName"]
            for f in functions.list_functions()["Functions"]
            if f["Handler"] == f"{module}.handler" and f["FunctionName"].startswith(STACK)
        )
        role = functions.get_function(FunctionName=name)["Configuration"]["Role"].rsplit("/", 1)[-1]
        granted = sorted(
            {
                action
                for policy in iam.list_role_policies(RoleName=role)["PolicyNames"]
                for statement in iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"][
                    "Statement"
                ]
                if statement["Effect"] == "Allow"
                for action in (
                    [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
                )
            }
        )
        mine = [u for u in used if u["function"] == name]
        actions = {u["action"] for u in mine}
        lines.append(f"{module} ({name})")
        lines += [f"  used     {u['action']:<28} {u['count']:>6}x  {u['resource']}" for u in mine] or [
            "  used     nothing yet"
        ]
        # only the services the emulator checks can be judged; logs and X-Ray are written for it
        unused = [a for a in granted if a not in actions and a.split(":")[0] in CHECKED_SERVICES]
        lines += [f"  unused   {a}" for a in unused]
    return lines


def fire(endpoint: str, wanted: str) -> str:
    """Fire a scheduled rule now (its targets get the Scheduled Event), by its name or a part of
    it (`make fire RULE=NightlyReport`): a test or a learner need not wait for the schedule."""
    if not wanted:
        raise RuntimeError("which rule? `make fire RULE=<name or part of it>`")
    require_running(endpoint)
    rules = [
        r["Name"]
        for r in local_client("events", endpoint).list_rules()["Rules"]
        if r.get("ScheduleExpression")
    ]
    matching = [name for name in rules if name == wanted] or [name for name in rules if wanted in name]
    if len(matching) != 1:
        known = ", ".join(rules) or "none"
        raise RuntimeError(f"{len(matching)} scheduled rules match {wanted!r} (scheduled rules: {known})")
    answer = requests.post(f"{endpoint}{FIRE_PATH}", json={"rule": matching[0]}, timeout=30)
    if "json" not in answer.headers.get("Content-Type", ""):
        raise RuntimeError(
            f"{endpoint} cannot fire a rule on demand (the embedded emulator can): wait for its schedule"
        )
    if answer.status_code != 200:
        raise RuntimeError(
            f"{endpoint} did not fire {matching[0]} ({answer.status_code}: {answer.text[:200]})"
        )
    fired = answer.json()
    return f"{matching[0]} fired: {fired['delivered']} of {fired['targets']} targets got its Scheduled Event"


def console(endpoint: str) -> str:
    """Where the embedded emulator's console is, and the stack's dashboard on it."""
    require_running(endpoint)
    if (health(endpoint) or {}).get("edition") != "embedded":
        raise RuntimeError(
            f"{endpoint} is not the embedded emulator, whose console this is: `make up` starts it"
        )
    outputs = read_outputs(OUTPUTS) if OUTPUTS.exists() else None
    lines = [f"console: {endpoint}{CONSOLE_PATH}", f"traces (one order's journey): {endpoint}{TRACES_PATH}"]
    if outputs is not None:
        lines.append(
            f"the stack's dashboard: {endpoint}{DASHBOARDS_PATH}{quote(outputs.dashboard_name, safe='')}"
        )
    return "\n".join(lines)


def reset(endpoint: str) -> str:
    """Start from nothing: wipe the running local target's state (every stack and its data), or
    the embedded emulator's saved state when nothing runs, and the outputs that described them."""
    if health(endpoint) is None:
        shutil.rmtree(SAVED_STATE, ignore_errors=True)
        OUTPUTS.unlink(missing_ok=True)
        return f"nothing runs on {endpoint}; removed the saved state in {SAVED_STATE}: `make up` starts from nothing"
    answer = requests.post(f"{endpoint}/moto-api/reset", json={}, timeout=30)
    if answer.status_code != 200:
        raise RuntimeError(f"{endpoint} refused the reset ({answer.status_code}: {answer.text[:200]})")
    OUTPUTS.unlink(missing_ok=True)
    return f"{endpoint} reset: every stack and its data are gone; `make deploy-local` deploys again"


def run_command(name: str, endpoint: str, args: argparse.Namespace) -> None:
    if name == "deploy":
        print(f"deploy-local: {deploy(endpoint)}")
    elif name == "smoke":
        print(f"smoke: {smoke(endpoint)}")
    elif name == "watch":
        print(f"watch: {watch(endpoint)}")
    elif name == "url":
        print(url(endpoint))
    elif name == "env":
        print("\n".join(env_lines(endpoint)))
    elif name == "reset":
        print(f"local-reset: {reset(endpoint)}")
    elif name == "mail":
        print(mail.show(args.show) if args.show else mail.listing())
    elif name == "iam-report":
        print("\n".join(iam_report(endpoint)))
    elif name == "console":
        print(console(endpoint))
    elif name == "fire":
        print(f"fire: {fire(endpoint, args.rule)}")
    elif name == "alarms":
        require_deployment(endpoint)
        print("\n".join(mail.alarm_lines(local_client("cloudwatch", endpoint))))
    else:
        follow_logs(endpoint, args.function, args.lines, args.follow)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workspace", description=__doc__)
    parser.add_argument(
        "commands",
        nargs="+",
        metavar="command",
        choices=[
            "deploy",
            "watch",
            "smoke",
            "url",
            "env",
            "logs",
            "reset",
            "mail",
            "alarms",
            "iam-report",
            "fire",
            "console",
        ],
        help="one or more, run in order until one fails (`make up`: deploy smoke url, one process)",
    )
    parser.add_argument("--endpoint", default=None, help="default: the local target's (see above)")
    parser.add_argument("--function", default="process", help="logs: create | process | get | access")
    parser.add_argument("--lines", type=int, default=20, help="logs: how many of the last lines first")
    parser.add_argument("--no-follow", dest="follow", action="store_false", help="logs: print and stop")
    parser.add_argument("--show", default="", help="mail: print message N of the listing, or `last`")
    parser.add_argument("--rule", default="", help="fire: the scheduled rule's name, or a part of it")
    args = parser.parse_args(argv)
    endpoint = args.endpoint or local_endpoint()
    for name in args.commands:
        command = {"deploy": "deploy-local", "reset": "local-reset"}.get(name, name)  # as `make` names it
        try:
            run_command(name, endpoint, args)
        except (KeyboardInterrupt, BrokenPipeError):  # Ctrl-C, or piped into `head`: nothing to report
            return 0
        except RuntimeError as error:
            print(f"{command}: {error}", file=sys.stderr)
            return 1
        except (BotoCoreError, ClientError, requests.RequestException) as error:
            cause = (str(error).strip().splitlines() or [type(error).__name__])[0]
            print(f"{command}: {endpoint} failed: {cause}; `make local-up` starts it", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
