"""AWS's own metrics, recorded where the emulator sees what they count.

Each value goes into a bucket of BUCKET_SECONDS for its series (account, region, namespace, name,
dimensions): count, sum, minimum, maximum, and up to VALUES_KEPT of the values themselves for
percentiles. Each bucket is also one statistic-set datum in moto's CloudWatch, updated in place, so
GetMetricStatistics, GetMetricData and ListMetrics answer at once, as they do for metrics AWS
publishes; the alarm evaluator reads the buckets (percentiles included). Buckets older than
KEPT_SECONDS are dropped, from both.
"""

import math
import random
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

BUCKET_SECONDS = 10  # the finest period an alarm or a query sees locally (AWS: 60, or 1 for high resolution)
KEPT_SECONDS = 3 * 3600
VALUES_KEPT = 1000  # per bucket, for percentiles (a uniform sample beyond that)

Dimensions = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Series:
    account: str
    region: str
    namespace: str
    name: str
    dimensions: Dimensions


@dataclass
class Bucket:
    start: float
    unit: str
    datum: Any  # moto's MetricAggregatedDatum for this bucket
    values: list[float] = field(default_factory=list)

    @property
    def count(self) -> float:
        return float(self.datum.sample_count)

    def add(self, value: float) -> None:
        datum = self.datum
        datum.sample_count += 1
        datum.sum += value
        datum.min = min(datum.min, value)
        datum.max = max(datum.max, value)
        if len(self.values) < VALUES_KEPT:
            self.values.append(value)
        else:  # reservoir sampling: each value kept with the same chance
            slot = random.randrange(int(datum.sample_count))  # noqa: S311 - sampling, not security
            if slot < VALUES_KEPT:
                self.values[slot] = value


def statistic(buckets: list[Bucket], name: str) -> float | None:
    """CloudWatch's statistic over `buckets` (one period): Sum, Average, Minimum, Maximum,
    SampleCount or a percentile pNN / pNN.N; None when there is no datapoint."""
    if not buckets:
        return None
    data = [b.datum for b in buckets]
    count = sum(d.sample_count for d in data)
    if name == "Sum":
        return float(sum(d.sum for d in data))
    if name == "SampleCount":
        return float(count)
    if name == "Average":
        return float(sum(d.sum for d in data) / count) if count else None
    if name == "Minimum":
        return float(min(d.min for d in data))
    if name == "Maximum":
        return float(max(d.max for d in data))
    if name.startswith("p"):
        return percentile([v for b in buckets for v in b.values], float(name[1:]))
    raise ValueError(f"unknown statistic {name!r}")


def percentile(values: list[float], p: float) -> float | None:
    """The nearest-rank percentile, as CloudWatch reports pNN of raw values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def dimensions_of(values: Mapping[str, str] | Iterable[tuple[str, str]]) -> Dimensions:
    items = values.items() if isinstance(values, Mapping) else values
    return tuple(sorted((str(k), str(v)) for k, v in items))


class MetricRecorder:
    def __init__(self, clock: Any = time.time) -> None:
        self.clock = clock
        self._series: dict[Series, dict[float, Bucket]] = {}
        self._lock = threading.Lock()
        self._lists: dict[tuple[str, str], list[Any]] = {}  # moto's metric_data per account, region
        self._pruned_at = 0.0

    def record(
        self,
        account: str,
        region: str,
        namespace: str,
        name: str,
        value: float,
        unit: str = "Count",
        dimensions: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        at: float | None = None,
    ) -> None:
        self.record_all(account, region, namespace, [(name, value, unit, dimensions_of(dimensions))], at)

    def record_all(
        self,
        account: str,
        region: str,
        namespace: str,
        values: Iterable[tuple[str, float, str, Dimensions]],
        at: float | None = None,
    ) -> None:
        """Several values of one moment at once (name, value, unit, dimensions): one clock read
        and one lock for what a request or an invocation publishes."""
        now = self.clock() if at is None else at
        start = now - now % BUCKET_SECONDS
        with self._lock:
            for name, value, unit, dimensions in values:
                series = Series(account, region, namespace, name, dimensions)
                bucket = self._series.get(series, {}).get(start)
                if bucket is not None:
                    bucket.add(value)
                    continue
                self._forget_if_reset(account, region)
                buckets = self._series.setdefault(series, {})
                buckets[start] = Bucket(start, unit, self._new_datum(series, start, unit, value), [value])
        if now - self._pruned_at > 60:
            self.prune(now)

    def state(self) -> dict[str, Any]:
        """What persistence keeps, read without the lock: it is read in a forked child, where
        another thread's hold on the lock would never end (and where nothing else runs)."""
        return {"series": self._series, "lists": self._lists}

    def restore(self, state: dict[str, Any]) -> None:
        """Buckets saved by `state` with the moto datums restored alongside them."""
        with self._lock:
            self._series, self._lists = state["series"], state["lists"]

    def buckets(self, series: Series, start: float, end: float) -> list[Bucket]:
        """Buckets of `series` that start in [start, end)."""
        with self._lock:
            found = self._series.get(series, {})
            return [b for s, b in found.items() if start <= s < end]

    def prune(self, now: float) -> None:
        self._pruned_at = now
        oldest = now - KEPT_SECONDS
        dropped: dict[tuple[str, str], set[int]] = {}
        with self._lock:
            for series, buckets in self._series.items():
                for start in [s for s in buckets if s < oldest]:
                    dropped.setdefault((series.account, series.region), set()).add(
                        id(buckets.pop(start).datum)
                    )
        for (account, region), ids in dropped.items():
            data = _backend(account, region).metric_data
            data[:] = [d for d in data if id(d) not in ids]  # in place: the list is how a reset is told

    def _forget_if_reset(self, account: str, region: str) -> None:
        """After a state reset (`make local-reset`) moto's CloudWatch holds a new list of data:
        the series recorded before it are gone there, so they go here too."""
        data = _backend(account, region).metric_data
        if self._lists.setdefault((account, region), data) is not data:
            self._lists[(account, region)] = data
            for series in [s for s in self._series if (s.account, s.region) == (account, region)]:
                del self._series[series]

    def _new_datum(self, series: Series, start: float, unit: str, value: float) -> Any:
        """The bucket's statistic set, in moto's CloudWatch from the first value on."""
        from moto.cloudwatch.models import MetricAggregatedDatum

        datum = MetricAggregatedDatum(
            namespace=series.namespace,
            name=series.name,
            min_stat=value,
            max_stat=value,
            sample_count=1,
            sum_stat=value,
            dimensions=[{"Name": k, "Value": v} for k, v in series.dimensions],
            timestamp=datetime.fromtimestamp(start, UTC).replace(tzinfo=None),  # moto compares naive UTC
            unit=unit,
        )
        self._lists[(series.account, series.region)].append(datum)
        return datum


def _backend(account: str, region: str) -> Any:
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends[account][region]
