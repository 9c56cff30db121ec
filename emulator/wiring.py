"""What code running inside moto's patched methods needs of the running emulator: handed over
once by `Emulator.start` (`wire`) and read through `wired()`, the one accessor. Everything else
gets what it needs as arguments.

  mailbox       where SNS email subscriptions deliver (sns/delivery.py)
  public_url    the emulator's own URL, in the links SNS mails (confirm, unsubscribe)
  recorder      where metrics are recorded: SQS counts its own inside moto's backend (sqs/metrics.py)
  invoke_async  Lambda's asynchronous invocation (region, function, payload -> request id): SNS,
                S3 notifications, EventBridge and moto's other triggers invoke functions through it
  invoke        a synchronous invocation (region, function, payload -> result): custom resources
  custom_resource_answers  where custom resource functions' answers arrive (their ResponseURL)
  authorizer    IAM: whether a service may invoke a function or send to a queue or topic
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from emulator.cloudwatch.metrics import MetricRecorder
from emulator.settings import DEFAULT_PORT, MAILBOX, endpoint_on

if TYPE_CHECKING:
    from emulator.cloudformation.custom import Answers
    from emulator.iam.enforcement import Authorizer
    from emulator.lambda_.spec import InvokeResult


@dataclass(frozen=True)
class Wiring:
    mailbox: Path = MAILBOX
    public_url: str = endpoint_on(DEFAULT_PORT)
    recorder: MetricRecorder = field(default_factory=MetricRecorder)
    invoke_async: Callable[[str, str, bytes], str] | None = None
    invoke: "Callable[[str, str, bytes], InvokeResult] | None" = None
    custom_resource_answers: "Answers | None" = None
    authorizer: "Authorizer | None" = None


_wiring = Wiring()  # until an emulator starts: the defaults, and no Lambda runtime


def wire(wiring: Wiring) -> None:
    global _wiring
    _wiring = wiring


def wired() -> Wiring:
    return _wiring
