"""The `spike` scenario's shape: ramp up, hold, spike, drop back, hold (used with SteadyUser)."""

import os

from locust import LoadTestShape


class SpikeShape(LoadTestShape):
    """Stages scale with USERS (LOAD_USERS) and the run length (LOAD_SECONDS)."""

    def __init__(self) -> None:
        super().__init__()
        users = int(os.environ.get("LOAD_USERS", "20"))
        seconds = float(os.environ.get("LOAD_SECONDS", "60"))
        self.stages = [  # (ends at fraction of the run, users, spawn rate)
            (0.2, max(1, users // 4), max(1, users // 4)),
            (0.4, max(1, users // 4), max(1, users // 4)),
            (0.6, users, users),
            (0.8, max(1, users // 4), users),
            (1.0, max(1, users // 4), users),
        ]
        self.seconds = seconds

    def tick(self) -> tuple[int, float] | None:
        elapsed = self.get_run_time()
        for ends, users, rate in self.stages:
            if elapsed < ends * self.seconds:
                return users, rate
        return None
