"""Which traces are recorded. AWS's default rule records the first request each second, then 5 %
of the rest; locally every request is recorded by default (a developer wants every order),
`--xray-sample default` gives AWS's rule, `off` no X-Ray at all (no daemon; the functions' Tracer
stays off, as before X-Ray was emulated). A trace header that already decided is followed."""

import random
import threading
import time

MODES = ("all", "default", "off")
RESERVOIR_PER_SECOND = 1
FIXED_RATE = 0.05


class Sampler:
    def __init__(self, mode: str = "all") -> None:
        if mode not in MODES:
            raise ValueError(f"--xray-sample must be one of {', '.join(MODES)}, got {mode!r}")
        self.mode = mode
        self._second = -1
        self._taken = 0
        self._lock = threading.Lock()

    def sampled(self, decided: bool | None = None) -> bool:
        if decided is not None:
            return decided
        if self.mode in ("all", "off"):
            return self.mode == "all"
        with self._lock:
            second = int(time.time())
            if second != self._second:
                self._second, self._taken = second, 0
            if self._taken < RESERVOIR_PER_SECOND:
                self._taken += 1
                return True
        return random.random() < FIXED_RATE  # noqa: S311 - sampling, not security
