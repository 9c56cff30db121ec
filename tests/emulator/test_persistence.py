"""The emulator's state survives a restart (`--state-dir`, as `make local-up` starts it)."""

import json
import socket
import threading
import time
import weakref
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from e2e.waiting import eventually
from emulator import persistence
from emulator.cloudwatch.metrics import MetricRecorder
from emulator.ctl import free_port, spawn, stop_child, wait_healthy
from emulator.settings import endpoint_on
from emulator.sqs.store import store_of
from tests.emulator.helpers import code_zip
from workspace.clients import local_client

KEY = {"pk": {"S": "order-1"}}


@contextmanager
def running(tmp_path: Path, kill: bool = False) -> Iterator[str]:
    """An emulator keeping its state in tmp_path/state; stopped cleanly, or with kill -9."""
    port = free_port()
    process = spawn(
        port,
        log_path=tmp_path / "emulator.log",
        extra_args=["--work-dir", str(tmp_path / "functions"), "--state-dir", str(tmp_path / "state")],
    )
    try:
        endpoint = endpoint_on(port)
        wait_healthy(endpoint, 30, process)
        yield endpoint
        if kill:
            process.kill()
            process.wait(10)
    finally:
        stop_child(process)


def make_table(endpoint: str) -> None:
    local_client("dynamodb", endpoint).create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.mark.integration  # starts an emulator
def test_items_messages_in_flight_and_dead_letters_survive_a_clean_restart(tmp_path: Path) -> None:
    with running(tmp_path) as endpoint:
        make_table(endpoint)
        local_client("dynamodb", endpoint).put_item(TableName="orders", Item=KEY)
        # SSM comes back with CloudFormation, after the start (its import is what start skips)
        local_client("ssm", endpoint).put_parameter(Name="/cdk-bootstrap/version", Value="30", Type="String")
        sqs = local_client("sqs", endpoint)
        dlq = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
        queue = sqs.create_queue(QueueName="orders", Attributes={"RedrivePolicy": redrive})["QueueUrl"]
        sqs.send_message(QueueUrl=queue, MessageBody="poison")
        for _ in range(2):  # received twice: the next receive dead-letters it
            assert sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0)["Messages"]
        assert "Messages" not in sqs.receive_message(QueueUrl=queue)
        sqs.send_message(QueueUrl=queue, MessageBody="in flight")
        received = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=600)["Messages"]
        assert [m["Body"] for m in received] == ["in flight"]  # its consumer dies with the emulator

    with running(tmp_path) as endpoint:
        assert local_client("dynamodb", endpoint).get_item(TableName="orders", Key=KEY)["Item"] == KEY
        parameter = local_client("ssm", endpoint).get_parameter(Name="/cdk-bootstrap/version")["Parameter"]
        assert parameter["Value"] == "30"
        sqs = local_client("sqs", endpoint)
        queue, dlq = (sqs.get_queue_url(QueueName=name)["QueueUrl"] for name in ("orders", "orders-dlq"))
        # visible again at once, not after its 600 s, and its receive count kept
        again = sqs.receive_message(QueueUrl=queue, AttributeNames=["ApproximateReceiveCount"])["Messages"]
        assert [(m["Body"], m["Attributes"]["ApproximateReceiveCount"]) for m in again] == [
            ("in flight", "2")
        ]
        assert [m["Body"] for m in sqs.receive_message(QueueUrl=dlq)["Messages"]] == ["poison"]


# Saves are paced by the save child's CPU (persistence.CPU_SHARE) and each takes a fork and an
# fsync: on a machine whose cores are all busy (CI runs three test workers beside ministack's e2e)
# the save after a change can come tens of seconds late; it must come.
SAVED_WITHIN = 90.0


def saved_backends(state: Path, service: str) -> list[Any]:
    """`service`'s moto backends as the state file holds them: what the next start restores. (A
    file written after a change need not hold it: the save may have forked before the change.)"""
    if not state.exists():
        return []
    accounts = persistence.read(state).first["moto"].get(service, {})
    return [backend for regions in accounts.values() for backend in regions.values()]


def saved_items(state: Path) -> list[dict[str, Any]]:
    tables = [backend.tables.get("orders") for backend in saved_backends(state, "dynamodb")]
    return [item.to_json()["Attributes"] for table in tables if table for item in table.items.values()]


def saved_message_count(state: Path, queue_name: str) -> int | None:
    """Messages of the queue in the state file (visible, in flight, delayed); None: no such queue."""
    for backend in saved_backends(state, "sqs"):
        if queue := backend.queues.get(queue_name):
            store = store_of(queue)
            return sum(store.counts()) if store else len(queue.messages)
    return None


@pytest.mark.integration  # starts an emulator
def test_after_kill_9_the_last_background_save_is_restored(tmp_path: Path) -> None:
    state = tmp_path / "state" / persistence.STATE_FILE
    with running(tmp_path, kill=True) as endpoint:
        make_table(endpoint)
        local_client("dynamodb", endpoint).put_item(TableName="orders", Item=KEY)
        eventually(  # saved in the background within SAVE_SECONDS or so
            lambda: saved_items(state) == [KEY],
            timeout=SAVED_WITHIN,
            every=0.1,
            what="a background save holding the write",
        )

    with running(tmp_path) as endpoint:
        assert local_client("dynamodb", endpoint).get_item(TableName="orders", Key=KEY)["Item"] == KEY


def saved_and_idle(state: Path, since: float) -> bool:
    """A save finished after `since` and none followed for three save periods: every change made
    until shortly after `since` is in the file (the saver saves SAVE_SECONDS after a change)."""
    return state.exists() and since < state.stat().st_mtime < time.time() - 3 * persistence.SAVE_SECONDS


def why_not_saved(state: Path, since: float, log: Path) -> str:
    if state.exists():
        offset = state.stat().st_mtime - since
        saved = f"the last save ended {abs(offset):.1f}s {'after' if offset > 0 else 'before'}"
    else:
        saved = "no save at all after"
    lines = [line for line in log.read_text().splitlines() if "sav" in line.lower()]
    return (
        f"no save without the message within {SAVED_WITHIN:.0f}s: {saved} the consumer's invocation, "
        f"holding {saved_message_count(state, 'orders')} messages; the log on saving: {lines[-5:]}"
    )


SLOW_CONSUMER = "import time\ndef handler(event, context):\n    time.sleep(2)\n"


@pytest.mark.integration  # starts an emulator
def test_after_kill_9_what_an_event_source_consumed_stays_consumed(tmp_path: Path) -> None:
    """The event source deletes a handled batch in the emulator's own process, with no request
    that would mark the state changed: it marks it itself, so a kill -9 after the delete does
    not bring the message back (the slow handler puts the delete well after the save of the send)."""
    state = tmp_path / "state" / persistence.STATE_FILE
    with running(tmp_path, kill=True) as endpoint:
        sqs = local_client("sqs", endpoint)
        queue = sqs.create_queue(QueueName="orders")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        iam = local_client("iam", endpoint)
        role = iam.create_role(RoleName="consumer", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": arn}],
        }
        iam.put_role_policy(RoleName="consumer", PolicyName="poll", PolicyDocument=json.dumps(policy))
        functions = local_client("lambda", endpoint)
        functions.create_function(
            FunctionName="consumer",
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": code_zip({"app.py": SLOW_CONSUMER})},
            Timeout=10,
        )
        functions.create_event_source_mapping(EventSourceArn=arn, FunctionName="consumer", BatchSize=1)
        sqs.send_message(QueueUrl=queue, MessageBody="order")
        # (no requests from here on: each would mark the state changed by itself)
        log = tmp_path / "emulator.log"
        eventually(lambda: "REPORT RequestId" in log.read_text(), every=0.1, what="the consumer's invocation")
        handled = time.time()
        try:
            eventually(
                lambda: (
                    state.exists()
                    and state.stat().st_mtime > handled
                    and saved_message_count(state, "orders") == 0
                ),
                timeout=SAVED_WITHIN,
                every=0.1,
            )
        except AssertionError:
            raise AssertionError(why_not_saved(state, handled, log)) from None

    with running(tmp_path) as endpoint:
        sqs = local_client("sqs", endpoint)
        counts = sqs.get_queue_attributes(
            QueueUrl=sqs.get_queue_url(QueueName="orders")["QueueUrl"],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        assert counts == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}


@pytest.mark.integration  # starts an emulator
def test_reading_health_and_reports_saves_nothing(tmp_path: Path) -> None:
    """`make bench` reads the functions' CPU while it measures, `make iam-report` the roles' use:
    a read must cost no save (a fork and an fsync) under the load it measures."""
    state = tmp_path / "state" / persistence.STATE_FILE
    with running(tmp_path) as endpoint:
        make_table(endpoint)
        created = time.time()
        eventually(lambda: saved_and_idle(state, since=created), timeout=SAVED_WITHIN, every=0.1)
        saved_at = state.stat().st_mtime
        reads_until = time.time() + 3 * persistence.SAVE_SECONDS
        while time.time() < reads_until:
            for path in ("/_emulator/health", "/_emulator/iam/report", "/_emulator/lambda/cpu"):
                assert requests.get(f"{endpoint}{path}", timeout=10).status_code == 200, path
            time.sleep(0.1)
        time.sleep(2 * persistence.SAVE_SECONDS)  # a save the reads caused would have ended by now
        assert state.stat().st_mtime == saved_at


@pytest.mark.integration  # starts an emulator
@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"\x00\x01 not a state file", "not an emulator state file"),
        (
            persistence.MAGIC + json.dumps({"format": 999, "moto": "9.9"}).encode() + b"\n",
            "it was written by format 999 with moto 9.9",
        ),
        (
            persistence.MAGIC + json.dumps(persistence._header()).encode() + b"\n" + b"\x80\x05truncated",
            "it is damaged",
        ),
    ],
)
def test_a_state_that_cannot_be_loaded_is_set_aside_and_the_emulator_starts_clean(
    tmp_path: Path, content: bytes, why: str
) -> None:
    state = tmp_path / "state" / persistence.STATE_FILE
    state.parent.mkdir()
    state.write_bytes(content)
    with running(tmp_path) as endpoint:
        assert local_client("dynamodb", endpoint).list_tables()["TableNames"] == []
    log = (tmp_path / "emulator.log").read_text()
    assert f"could not load {state}: {why}" in log, log
    aside = list(state.parent.glob(f"{persistence.STATE_FILE}.unloadable-*"))
    assert [p.read_bytes() for p in aside] == [content]  # kept for a look, never loaded again
    assert persistence.read(state).first["moto"]  # and a good state was saved at the stop


@pytest.mark.parametrize("fork", [True, False], ids=["forked child", "no fork (Windows)"])
def test_a_save_holds_what_moto_holds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fork: bool) -> None:
    from moto.sqs.models import sqs_backends

    if not fork:
        monkeypatch.delattr(persistence.os, "fork")
    sqs_backends["000000000000"]["eu-west-1"].create_queue("kept")
    saver = persistence.Saver(
        tmp_path / persistence.STATE_FILE, ("sqs",), before_save=lambda: None, recorder=MetricRecorder()
    )
    assert saver._save_in_child() is not None
    saved = persistence.read(tmp_path / persistence.STATE_FILE).first["moto"]["sqs"]["000000000000"][
        "eu-west-1"
    ]
    assert "kept" in saved.queues
    assert (tmp_path / persistence.STATE_FILE).stat().st_mode & 0o077 == 0  # the user's only


def test_the_stacks_part_refers_to_the_objects_of_the_first_not_to_copies(tmp_path: Path) -> None:
    queue = {"name": "orders"}  # what a stack's resource and the SQS backend both hold
    backends: dict[str, Any] = {
        "sqs": {"000000000000": {"us-east-1": queue}},
        "cloudformation": {"000000000000": {"us-east-1": {"resource": queue}}},
    }
    state = tmp_path / persistence.STATE_FILE
    persistence.write(state, backends, {})
    saved = persistence.read(state)
    assert "cloudformation" not in saved.first["moto"]  # loaded once moto's CloudFormation has
    restored_queue = saved.first["moto"]["sqs"]["000000000000"]["us-east-1"]
    assert saved.second()["cloudformation"]["000000000000"]["us-east-1"]["resource"] is restored_queue


class Resource:  # a weakly referenced moto model
    pass


class ParameterDict(defaultdict[str, Any]):  # as moto's: a subclass whose __init__ takes more
    def __init__(self, account: str, region: str) -> None:
        super().__init__(list)
        self.account = account


def test_what_pickle_cannot_take_as_it_is_comes_back(tmp_path: Path) -> None:
    """Locks (rebuilt unlocked), the cryptography keys moto holds, moto's lambda-made defaultdicts
    and its weak-value ARN indexes: each kind, twice (the second from what the first decided)."""
    held = threading.Lock()
    held.acquire()
    private = [
        rsa.generate_private_key(65537, 1024),
        ec.generate_private_key(ec.SECP256R1()),
        ed25519.Ed25519PrivateKey.generate(),
    ]
    resource = Resource()
    parameters = ParameterDict("000000000000", "us-east-1")
    parameters["p"].append(1)
    nested: defaultdict[str, Any] = defaultdict(lambda: defaultdict(dict))
    nested["a"]["b"]["c"] = 1
    kept = {
        "locks": [held, threading.Lock(), threading.RLock(), threading.RLock()],
        "private": private * 2,
        "public": [key.public_key() for key in private] * 2,
        "defaultdicts": [nested, nested.copy(), parameters],
        "index": weakref.WeakValueDictionary({"arn": resource}),
        "resource": resource,
    }
    state = tmp_path / persistence.STATE_FILE
    persistence.write(state, {"kms": {"000000000000": {"us-east-1": kept}}}, {})
    back = persistence.read(state).first["moto"]["kms"]["000000000000"]["us-east-1"]

    assert [type(lock) for lock in back["locks"]] == [type(lock) for lock in kept["locks"]]
    assert all(lock.acquire(blocking=False) for lock in back["locks"])  # unlocked, the held one too
    pem, public = serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    assert [key.public_key().public_bytes(pem, public) for key in back["private"]] == [
        key.public_key().public_bytes(pem, public) for key in kept["private"]
    ]
    assert [key.public_bytes(pem, public) for key in back["public"]] == [
        key.public_bytes(pem, public) for key in kept["public"]
    ]
    restored_nested, _, restored_parameters = back["defaultdicts"]
    assert restored_nested == nested and restored_nested["new"]["x"] == {}  # the factory still makes
    assert type(restored_parameters) is ParameterDict and restored_parameters.account == "000000000000"
    assert restored_parameters["p"] == [1] and restored_parameters["q"] == []
    assert back["index"]["arn"] is back["resource"]


def test_an_item_s_attributes_come_back_in_one_call_not_one_size_check_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto's LimitedSizeDict sums every attribute's size on each set: restored key by key, an
    item of n attributes costs n² size computations, most of a large state's restore."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict

    attrs = LimitedSizeDict({f"a{number}": DynamoType({"S": "v"}) for number in range(20)})
    state = tmp_path / persistence.STATE_FILE
    persistence.write(state, {"dynamodb": {"000000000000": {"us-east-1": {"item": attrs}}}}, {})
    checked: list[str] = []
    checking_set = LimitedSizeDict.__setitem__

    def counted(self: LimitedSizeDict, key: str, value: Any) -> None:
        checked.append(key)
        checking_set(self, key, value)

    monkeypatch.setattr(LimitedSizeDict, "__setitem__", counted)
    restored = persistence.read(state).first["moto"]["dynamodb"]["000000000000"]["us-east-1"]["item"]
    assert type(restored) is LimitedSizeDict and restored == attrs
    assert checked == []
    with pytest.raises(ItemSizeTooLarge):  # and it checks what is set after the restore
        restored["big"] = DynamoType({"S": "x" * 410_000})


def test_stacks_that_cannot_be_restored_leave_the_rest_running(tmp_path: Path) -> None:
    from moto.sqs.models import sqs_backends

    sqs_backends["000000000000"]["eu-west-2"].create_queue("still-here")
    state = tmp_path / persistence.STATE_FILE
    persistence.write(state, persistence._backends(("sqs",)), MetricRecorder().state())
    state.write_bytes(state.read_bytes()[:-3])  # the last part, the stacks, cut short
    message, stacks = persistence.restore(state, ("sqs",), MetricRecorder())
    assert message.startswith(f"restored {state}") and stacks is not None
    assert "still-here" in sqs_backends["000000000000"]["eu-west-2"].queues
    assert stacks().startswith(f"could not restore the stacks of {state}")  # said, never raised
    assert list(tmp_path.glob(f"{persistence.STATE_FILE}.stacks-unloadable-*"))


def test_a_stuck_save_ends_even_when_nobody_kills_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A save child that hangs ends on its own, even when its emulator was killed (kill -9)."""
    monkeypatch.setattr(persistence, "CHILD_SECONDS", 1)
    monkeypatch.setattr(persistence, "write", lambda *args: time.sleep(30))
    monkeypatch.setattr(persistence.os, "kill", lambda *args: None)  # as if the emulator were gone
    saver = persistence.Saver(
        tmp_path / persistence.STATE_FILE, ("sqs",), before_save=lambda: None, recorder=MetricRecorder()
    )
    started = time.monotonic()
    assert saver._save_in_child() is None
    assert time.monotonic() - started < 10


def test_the_cadence_follows_the_save_s_cpu_not_its_wall_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A save waiting on a slow disk or a busy machine costs nothing; one pickling a large state
    does: the next save waits its CPU / CPU_SHARE, so saving stays within CPU_SHARE of a core."""

    def slow_disk_and_some_work(*args: object) -> None:
        time.sleep(0.6)
        until = time.process_time() + 0.2
        while time.process_time() < until:
            pass

    monkeypatch.setattr(persistence, "write", slow_disk_and_some_work)
    saver = persistence.Saver(
        tmp_path / persistence.STATE_FILE, ("sqs",), before_save=lambda: None, recorder=MetricRecorder()
    )
    used = saver._save_in_child()
    assert used is not None and 0.2 <= used < 0.5, used
    assert persistence.pause_after(used) == used / persistence.CPU_SHARE >= 4
    assert persistence.pause_after(0.001) == persistence.SAVE_SECONDS  # a small state: every second


def test_a_save_in_progress_keeps_no_port_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A save still running when the emulator stops (or is killed) must not keep its port: the
    next start listens on it at once."""
    listening = socket.create_server(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    saving_started = tmp_path / "saving"

    def slow_save(*args: object) -> None:
        saving_started.touch()
        time.sleep(2)

    monkeypatch.setattr(persistence, "write", slow_save)
    saver = persistence.Saver(
        tmp_path / persistence.STATE_FILE, ("sqs",), before_save=lambda: None, recorder=MetricRecorder()
    )
    saving = threading.Thread(target=saver._save_in_child)
    saving.start()
    try:
        deadline = time.monotonic() + 10
        while not saving_started.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert saving_started.exists()
        listening.close()  # the emulator stops listening while the child saves
        socket.create_server(("127.0.0.1", port)).close()  # the next one can
    finally:
        saving.join()
