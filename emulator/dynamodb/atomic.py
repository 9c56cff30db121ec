"""DynamoDB applies each request atomically; moto's backend is not safe for two threads at once.

A Scan walks the table's dict of items while a PutItem on another thread adds to it ("dictionary
changed size during iteration": the Scan answers 500), and two conditional writes to one item can
both pass their condition before either writes. So each DynamoDB request runs alone, as one
critical section (no request waits inside it: none long-polls or invokes a function).
"""

import threading

from moto.dynamodb import responses

from emulator.patching import replace


def install() -> None:
    one_request_at_a_time(threading.RLock())


def one_request_at_a_time(lock: threading.RLock) -> None:
    moto_call_action = responses.DynamoHandler.call_action

    def call_action(self: responses.DynamoHandler) -> object:
        with lock:
            return moto_call_action(self)

    replace(responses.DynamoHandler, "call_action", call_action)
