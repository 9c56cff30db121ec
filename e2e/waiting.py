"""Bounded polling for eventually-consistent results."""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(
    check: Callable[[], T | None], timeout: float = 30.0, every: float = 0.2, what: str = "condition"
) -> tuple[T, float]:
    """The first truthy result of `check` and the seconds it took; AssertionError after `timeout`."""
    started = time.monotonic()
    while True:
        result = check()
        if result:
            return result, time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what} not reached within {timeout:.0f}s")
        time.sleep(every)
