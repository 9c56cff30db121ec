"""SQS speed-ups that keep moto's answers (the shared ones are in core/speedups.py)."""

import functools
import string

from emulator.patching import original, replace


def install() -> None:
    """moto draws a receipt handle (185 characters, every received message) one random.choice at
    a time: random.choices draws it in one call, from the same alphabet and the same (seedable)
    generator. camelcase_to_underscores, called 15 times per SendMessage to build the queue's
    attributes, is computed once per argument."""
    from moto.core import utils
    from moto.moto_api._internal import mock_random
    from moto.sqs import models

    def generate_receipt_handle() -> str:
        return "".join(mock_random.choices(string.ascii_lowercase, k=185))

    replace(models, "generate_receipt_handle", generate_receipt_handle)
    cached = functools.lru_cache(maxsize=8192)(original(utils, "camelcase_to_underscores"))
    replace(models, "camelcase_to_underscores", cached)  # it imported the name
