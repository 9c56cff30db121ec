"""The real OrdersStack through cdklocal on the emulator, deployed again and again as a user does:
unchanged, changed, unchanged again; each updates it in place, the last change is the one that
runs, and a destroy removes it and the function workers with it."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from orders_infra.package import DEPENDENCIES_CACHE

from emulator.ctl import free_port, temporary_emulator
from tests.emulator.helpers import workers_running_in
from workspace.clients import local_api_url, local_client
from workspace.deploy import DeployRequest, deploy_local, destroy_local
from workspace.deployment import REPO, Outputs, read_outputs

pytestmark = pytest.mark.integration
ORDER = {"amount": 1.5, "currency": "EUR"}


def statuses(api: str, count: int) -> list[int]:
    with requests.Session() as session:
        return [session.post(f"{api}/orders", json=ORDER, timeout=30).status_code for _ in range(count)]


def test_repeated_deploys_update_the_stack_in_place_and_destroy_removes_it(tmp_path: Path) -> None:
    def deploy(**context: str) -> Outputs:
        return deploy_local(
            DeployRequest(
                emulator.endpoint,
                tmp_path / "outputs.json",
                log=tmp_path / "deploy.log",
                progress=print,
                context=context,
                skip_unchanged=False,  # the unchanged deploys are the point: moto's empty change sets
                method="change-set",  # a plain `cdklocal deploy`'s, which `deploy-local` does not use
            )
        )

    throttle = {"apiRateLimit": "1", "apiBurstLimit": "1"}
    with temporary_emulator(tmp_path) as emulator:
        outputs = deploy()
        api = local_api_url(emulator.endpoint, outputs.api_id)
        assert statuses(api, 5) == [202] * 5

        # unchanged: the CLI's empty change set is deleted by the CLI, and the next deploy deletes
        # it again (moto crashed there, breaking every later deploy)
        assert deploy() == outputs
        assert deploy(**throttle) == outputs  # updated in place: same API, queue, table
        answered = statuses(api, 5)
        assert 429 in answered and answered[0] == 202, answered
        assert deploy(**throttle) == outputs  # unchanged again: the change stays
        time.sleep(1.1)  # a fresh token bucket
        answered = statuses(api, 5)
        assert 429 in answered and answered[0] == 202, answered

        assert deploy() == outputs
        assert statuses(api, 10) == [202] * 10
        # the CLI's output is logged as text (jsii's Python side logged Node's warnings as b'...')
        assert "b'" not in (tmp_path / "deploy.log").read_text()

        destroy_local(emulator.endpoint, log=tmp_path / "deploy.log")
        assert local_client("lambda", emulator.endpoint).list_functions()["Functions"] == []
        assert local_client("apigatewayv2", emulator.endpoint).get_apis()["Items"] == []
        assert requests.post(f"{api}/orders", json=ORDER, timeout=30).status_code == 404
        if Path("/proc/self/cwd").exists():
            deadline = time.monotonic() + 5  # the runtime notices deleted functions within 0.5 s
            while workers_running_in(tmp_path / "functions") and time.monotonic() < deadline:
                time.sleep(0.1)
            assert workers_running_in(tmp_path / "functions") == []


def repository_copy(tmp_path: Path) -> Path:
    """The tracked files in a folder of their own, so a test may edit functions/ (the virtual
    environment, node_modules and the functions' installed requirements are shared)."""
    copy = tmp_path / "repo"
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, copy / name)
    DEPENDENCIES_CACHE.mkdir(parents=True, exist_ok=True)
    for shared in (Path("node_modules"), Path(".venv"), DEPENDENCIES_CACHE.relative_to(REPO)):
        (copy / shared).parent.mkdir(parents=True, exist_ok=True)
        (copy / shared).symlink_to(REPO / shared)
    return copy


def deploy_copy(copy: Path, endpoint: str, **env: str) -> str:
    """`make deploy-local` in the copy (`env`: HOTSWAP=1, HOT_RELOAD=1); its output."""
    done = subprocess.run(
        [sys.executable, "-m", "workspace", "deploy"],
        cwd=copy,
        env={**os.environ, "PYTHONPATH": str(copy), "LOCAL_ENDPOINT": endpoint, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def invalid_id_message(api: str) -> str:
    return str(requests.get(f"{api}/orders/x", timeout=30).json()["message"])


def test_a_hotswap_deploy_puts_a_code_change_live(tmp_path: Path) -> None:
    copy = repository_copy(tmp_path)
    handler = copy / "functions" / "get_order.py"
    original = handler.read_text()
    with temporary_emulator(copy / ".local") as emulator:  # its mailbox where the copy's deploy looks
        deploy_copy(copy, emulator.endpoint)
        api = local_api_url(emulator.endpoint, read_outputs(copy / ".local" / "outputs.json").api_id)
        assert invalid_id_message(api) == "orderId must be a UUID"

        # only functions/ changed: the package goes straight to the functions, no synth
        handler.write_text(original.replace("must be a UUID", "must be a UUID (hotswapped)"))
        output = deploy_copy(copy, emulator.endpoint, HOTSWAP="1")
        assert "3 functions updated in" in output and "(no synth)" in output, output
        assert invalid_id_message(api) == "orderId must be a UUID (hotswapped)"
        assert "skipped" in deploy_copy(copy, emulator.endpoint, HOTSWAP="1"), "nothing changed since"

        # back to the deployed template's code: CloudFormation sees no change, yet the functions run
        # the hotswapped code, so the plain deploy is not skipped and pushes the code too
        handler.write_text(original)
        assert "skipped" not in deploy_copy(copy, emulator.endpoint)
        assert invalid_id_message(api) == "orderId must be a UUID"
        assert "skipped" in deploy_copy(copy, emulator.endpoint), "in step again"

        # code and infrastructure changed: the CDK's own hotswap (--hotswap-fallback)
        stack = copy / "cdk" / "orders_infra" / "stack.py"
        stack.write_text(stack.read_text() + "\n# edited\n")
        handler.write_text(original.replace("must be a UUID", "must be a UUID (hotswapped by the CDK)"))
        output = deploy_copy(copy, emulator.endpoint, HOTSWAP="1")
        assert "hotswap: code and configuration straight to the functions" in output
        assert invalid_id_message(api) == "orderId must be a UUID (hotswapped by the CDK)"
        assert "hotswapped!" in (copy / ".local" / "deploy.log").read_text()
        # the stack's template is now behind its functions: the next plain deploy is not skipped
        assert "skipped" not in deploy_copy(copy, emulator.endpoint)


def test_the_stack_deployed_for_hot_reload_runs_a_saved_edit_at_once(tmp_path: Path) -> None:
    copy = repository_copy(tmp_path)
    handler = copy / "functions" / "get_order.py"
    with temporary_emulator(copy / ".local") as emulator:
        assert "hot reload: saved changes under functions/ run" in deploy_copy(
            copy, emulator.endpoint, HOT_RELOAD="1"
        )
        api = local_api_url(emulator.endpoint, read_outputs(copy / ".local" / "outputs.json").api_id)
        assert invalid_id_message(api) == "orderId must be a UUID"
        handler.write_text(handler.read_text().replace("must be a UUID", "must be a UUID (edited)"))
        saved = time.monotonic()
        while invalid_id_message(api) != "orderId must be a UUID (edited)" and time.monotonic() - saved < 10:
            time.sleep(0.05)
        live_after = time.monotonic() - saved
        print(f"hot reload: the edit ran {live_after:.2f}s after the save")
        assert invalid_id_message(api) == "orderId must be a UUID (edited)"
        layers = local_client("lambda", emulator.endpoint).list_layers()["Layers"]
        assert len(layers) == 1, "the packages come in a layer, for LocalStack and Floci"


def test_watch_deploys_and_then_hotswaps_each_saved_change(tmp_path: Path) -> None:
    copy = repository_copy(tmp_path)
    handler = copy / "functions" / "get_order.py"
    outputs = copy / ".local" / "outputs.json"
    with temporary_emulator(copy / ".local") as emulator:
        watching = subprocess.Popen(
            [sys.executable, "-m", "workspace", "watch"],
            cwd=copy,
            env={**os.environ, "PYTHONPATH": str(copy), "LOCAL_ENDPOINT": emulator.endpoint},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 120  # its first deploy
            while not outputs.exists() and time.monotonic() < deadline and watching.poll() is None:
                time.sleep(0.5)
            api = local_api_url(emulator.endpoint, read_outputs(outputs).api_id)
            assert invalid_id_message(api) == "orderId must be a UUID"
            time.sleep(1)  # watch starts watching once that deploy is done
            handler.write_text(handler.read_text().replace("must be a UUID", "must be a UUID (watched)"))
            deadline = time.monotonic() + 90
            while (
                invalid_id_message(api) != "orderId must be a UUID (watched)" and time.monotonic() < deadline
            ):
                time.sleep(0.5)
            live = invalid_id_message(api) == "orderId must be a UUID (watched)"
        finally:
            os.killpg(watching.pid, signal.SIGINT)  # Ctrl-C
            try:
                output = watching.communicate(timeout=30)[0].decode(errors="replace")
            except subprocess.TimeoutExpired:
                os.killpg(watching.pid, signal.SIGKILL)
                output = watching.communicate()[0].decode(errors="replace")
        assert live, output[-3000:]
        assert "watch: functions/get_order.py changed" in output, output[-3000:]
        assert "(no synth)" in output, output[-3000:]


def test_a_failed_update_rolls_back_keeps_the_orders_across_a_restart_and_the_fix_then_deploys(
    tmp_path: Path,
) -> None:
    copy = repository_copy(tmp_path)
    stack = copy / "cdk" / "orders_infra" / "stack.py"
    shipped = stack.read_text()
    # a new table named like one that exists outside the stack: its create fails on AWS too
    clash = shipped.replace(
        "        acknowledge_justified_findings(self)",
        '        dynamodb.Table(self, "Clash", table_name="TABLE", removal_policy=cdk.RemovalPolicy.DESTROY,\n'
        '            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),\n'
        "            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(\n"
        "                point_in_time_recovery_enabled=True))\n"
        "        acknowledge_justified_findings(self)",
    ).replace(
        "from aws_cdk import aws_iam as iam",
        "from aws_cdk import aws_dynamodb as dynamodb\nfrom aws_cdk import aws_iam as iam",
    )
    state, port = tmp_path / "state", free_port()
    with temporary_emulator(copy / ".local", state_dir=state, port=port) as emulator:
        deploy_copy(copy, emulator.endpoint)
        outputs = read_outputs(copy / ".local" / "outputs.json")
        api = local_api_url(emulator.endpoint, outputs.api_id)
        order = requests.post(f"{api}/orders", json=ORDER, timeout=30).json()["orderId"]
        deadline = time.monotonic() + 10
        while (
            requests.get(f"{api}/orders/{order}", timeout=30).status_code != 200
            and time.monotonic() < deadline
        ):
            time.sleep(0.1)
        local_client("dynamodb", emulator.endpoint).create_table(
            TableName="taken", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        )  # fmt: skip

        stack.write_text(clash.replace("TABLE", "taken"))
        failed = subprocess.run(
            [sys.executable, "-m", "workspace", "deploy"], cwd=copy, capture_output=True, text=True, timeout=300,
            env={**os.environ, "PYTHONPATH": str(copy), "LOCAL_ENDPOINT": emulator.endpoint},
        )  # fmt: skip
        assert failed.returncode == 1
        first = failed.stderr.splitlines()[0]
        assert (
            "was rolled back to its previous deploy" in first
            and "Clash" in first
            and "already exists" in first
        ), first

    def unchanged(endpoint: str) -> None:
        cfn = local_client("cloudformation", endpoint)
        assert (
            cfn.describe_stacks(StackName="OrdersStack")["Stacks"][0]["StackStatus"]
            == "UPDATE_ROLLBACK_COMPLETE"
        )
        assert "Clash" not in {
            r["LogicalResourceId"]
            for r in cfn.describe_stack_resources(StackName="OrdersStack")["StackResources"]
        }
        assert requests.get(f"{api}/orders/{order}", timeout=30).json()["orderId"] == order

    with temporary_emulator(copy / ".local", state_dir=state, port=port) as emulator:  # after a restart
        unchanged(emulator.endpoint)
        stack.write_text(clash.replace("TABLE", "clash-free"))
        deploy_copy(copy, emulator.endpoint)
        cfn = local_client("cloudformation", emulator.endpoint)
        assert cfn.describe_stacks(StackName="OrdersStack")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
        assert local_client("dynamodb", emulator.endpoint).describe_table(TableName="clash-free")["Table"]
        assert requests.get(f"{api}/orders/{order}", timeout=30).status_code == 200
