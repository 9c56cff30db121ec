"""Route selection (exact, {param}, {proxy+}, $default) and stage throttling, as API Gateway does them."""

import functools
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass


class TokenBucket:
    """Stage throttling: `rate` requests per second with bursts of up to `burst`."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, max(1, burst)
        self.tokens = float(self.burst)
        self.updated = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


@dataclass(frozen=True)
class Route:
    key: str
    method: str  # "ANY" or an HTTP method; "" for $default
    segments: tuple[str, ...]
    target: str | None

    @staticmethod
    @functools.lru_cache(maxsize=4096)  # every request looks at every route of its API
    def parse(route_key: str, target: str | None) -> "Route":
        if route_key == "$default":
            return Route(route_key, "", (), target)
        method, _, path = route_key.partition(" ")
        return Route(route_key, method.upper(), tuple(s for s in path.split("/") if s), target)

    def match(self, method: str, segments: list[str]) -> dict[str, str] | None:
        """Path parameters when this route takes the request, else None; $default takes anything."""
        if self.key == "$default":
            return {}
        if self.method not in ("ANY", method):
            return None
        params: dict[str, str] = {}
        for index, pattern in enumerate(self.segments):
            if pattern.startswith("{") and pattern.endswith("+}"):
                if index >= len(segments):
                    return None
                params[pattern[1:-2]] = "/".join(segments[index:])
                return params
            if index >= len(segments):
                return None
            if pattern.startswith("{") and pattern.endswith("}"):
                params[pattern[1:-1]] = segments[index]
            elif pattern != segments[index]:
                return None
        return params if len(segments) == len(self.segments) else None

    def rank(self) -> tuple[int, int, int, int]:
        """Most specific first: exact method over ANY, then more literal segments, fewer greedy ones."""
        literal = sum(1 for s in self.segments if not s.startswith("{"))
        greedy = sum(1 for s in self.segments if s.endswith("+}"))
        return (self.key == "$default", greedy, -literal, self.method == "ANY")


def select_route(routes: Iterable[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    segments = [s for s in path.split("/") if s]
    matches = [(route, params) for route in routes if (params := route.match(method, segments)) is not None]
    return min(matches, key=lambda m: m[0].rank()) if matches else None
