"""SQS's part in X-Ray: a message sent with an `X-Amzn-Trace-Id` header (the X-Ray SDK adds it
to the SDK's calls) keeps it as its AWSTraceHeader system attribute, unless the message sets that
attribute itself (which wins, as on AWS). Lambda's SQS poller hands it to the consumer in the
record's attributes, and the consumer's trace links to it."""

import functools
from typing import Any

from emulator.patching import replace

ATTRIBUTE = "AWSTraceHeader"


def _with_trace_header(attributes: Any, header: str) -> dict[str, Any]:
    attributes = dict(attributes or {})
    attributes.setdefault(ATTRIBUTE, {"StringValue": header, "DataType": "String"})
    return attributes


def install() -> None:
    from moto.sqs.responses import SQSResponse

    send_message, send_message_batch = SQSResponse.send_message, SQSResponse.send_message_batch

    def header(self: SQSResponse) -> str | None:
        return self.headers.get("X-Amzn-Trace-Id") or self.headers.get("x-amzn-trace-id")

    @functools.wraps(send_message)
    def send_message_traced(self: SQSResponse) -> Any:
        found = header(self)
        if found:
            system = self.params.get("MessageSystemAttributes")
            self.params = {**self.params, "MessageSystemAttributes": _with_trace_header(system, found)}
        return send_message(self)

    @functools.wraps(send_message_batch)
    def send_message_batch_traced(self: SQSResponse) -> Any:
        found = header(self)
        if found:
            entries = [
                {
                    **entry,
                    "MessageSystemAttributes": _with_trace_header(
                        entry.get("MessageSystemAttributes"), found
                    ),
                }
                for entry in self.params.get("Entries") or []
            ]
            self.params = {**self.params, "Entries": entries}
        return send_message_batch(self)

    replace(SQSResponse, "send_message", send_message_traced)
    replace(SQSResponse, "send_message_batch", send_message_batch_traced)
