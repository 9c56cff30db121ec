"""The emulator's changes to moto are listed in one install() and undone by uninstall(), so tests
that run after the emulator's see moto as it is (checked in a fresh interpreter)."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CHECK = """
from moto.cloudformation.models import CloudFormationBackend, Stack
from moto.cloudwatch.models import CloudWatchBackend
from moto.core import utils
from moto.sqs import models as sqs_models
from moto.sqs.models import Queue, SQSBackend
from emulator import patches

watched = {
    "Queue.__init__": (Queue, "__init__"), "Queue.messages": (Queue, "messages"),
    "SQSBackend.receive_message": (SQSBackend, "receive_message"),
    "CloudWatchBackend.put_metric_alarm": (CloudWatchBackend, "put_metric_alarm"),
    "CloudFormationBackend.delete_change_set": (CloudFormationBackend, "delete_change_set"),
    "Stack.stack_parameters": (Stack, "stack_parameters"),
    "utils.camelcase_to_underscores": (utils, "camelcase_to_underscores"),
    "sqs_models.generate_receipt_handle": (sqs_models, "generate_receipt_handle"),
}
before = {name: vars(owner)[attr] for name, (owner, attr) in watched.items()}
patches.install()
patches.load_cloudformation()
changed = sorted(name for name, (owner, attr) in watched.items() if vars(owner)[attr] is not before[name])
patches.uninstall()
restored = sorted(name for name, (owner, attr) in watched.items() if vars(owner)[attr] is before[name])
print(len(changed), len(restored), len(watched))
"""


def test_install_changes_moto_and_uninstall_puts_it_back() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    )
    changed, restored, watched = map(int, result.stdout.split())
    assert changed == restored == watched == 8
