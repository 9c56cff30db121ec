"""CloudWatch Logs as the emulator writes to it: function output and API access log lines go
to their log groups in moto's CloudWatch Logs (so `aws logs tail` works) and to emulator.log."""

import logging
import threading
import time
from dataclasses import dataclass

from moto.logs.models import logs_backends

from emulator.cloudwatch import emf
from emulator.cloudwatch.metrics import MetricRecorder

log = logging.getLogger("emulator.logs")
# Function output and access logs are kept in memory: each stream keeps its newest events only.
EVENTS_KEPT_PER_STREAM = 10_000


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class LogStream:
    """A CloudWatch Logs stream in the emulator, and the label its lines get in emulator.log."""

    account_id: str
    region: str
    log_group: str
    name: str
    label: str


class LogSink:
    """Writes function output to moto's CloudWatch Logs (so `aws logs tail` works) and to our log.

    Off the invocation's path, in batches: a background thread takes what piled up every
    FLUSH_SECONDS and writes one put_log_events per stream and one emulator.log record per
    function. CloudWatch Logs is eventually consistent on AWS as well."""

    FLUSH_SECONDS = 0.05

    def __init__(self, recorder: MetricRecorder) -> None:
        self.recorder = recorder  # embedded-metric-format lines become its metrics
        self._pending: list[tuple[LogStream, list[tuple[int, str]]]] = []
        self._writing = False
        self._changed = threading.Condition()
        self._closed = False
        self._writer = threading.Thread(target=self._run, name="log-sink", daemon=True)
        self._writer.start()

    def write(self, stream: LogStream, lines: list[tuple[int, str]]) -> None:
        if lines:
            with self._changed:
                self._pending.append((stream, lines))
                self._changed.notify_all()

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until everything written so far is in moto's CloudWatch Logs."""
        with self._changed:
            self._changed.wait_for(lambda: not self._pending and not self._writing, timeout)

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._writer.join(timeout=2)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._pending or self._closed)
                if self._closed and not self._pending:
                    return
            time.sleep(self.FLUSH_SECONDS)  # let a batch gather
            with self._changed:
                # Take the batch away: lines written while it is being written wait for the next one.
                batch, self._pending = self._pending, []
                self._writing = True
            self._write(batch)
            with self._changed:
                self._writing = False
                self._changed.notify_all()

    def _write(self, batch: list[tuple[LogStream, list[tuple[int, str]]]]) -> None:
        streams: dict[LogStream, list[tuple[int, str]]] = {}
        for stream, lines in batch:
            streams.setdefault(stream, []).extend(lines)
        for stream, lines in streams.items():
            log.info("[%s] %s", stream.label, f"\n[{stream.label}] ".join(text for _, text in lines))
            _extract_metrics(self.recorder, stream, lines)
            try:
                backend = logs_backends[stream.account_id][stream.region]
                if stream.log_group not in backend.groups:
                    backend.create_log_group(stream.log_group, tags={})
                if stream.name not in backend.groups[stream.log_group].streams:
                    backend.create_log_stream(stream.log_group, stream.name)
                events = [
                    {"timestamp": ts, "message": text} for ts, text in sorted(lines, key=lambda line: line[0])
                ]
                backend.put_log_events(stream.log_group, stream.name, events)
                kept = backend.groups[stream.log_group].streams[stream.name].events
                del kept[: max(0, len(kept) - EVENTS_KEPT_PER_STREAM)]  # oldest first, as retention would
            except Exception:  # logging must never fail a request
                log.exception("could not write %d log lines to %s", len(lines), stream.log_group)


def _extract_metrics(recorder: MetricRecorder, stream: LogStream, lines: list[tuple[int, str]]) -> None:
    """Embedded metric format lines become metrics, as CloudWatch Logs extracts them."""
    for timestamp, text in lines:
        if not emf.looks_like_emf(text):
            continue
        try:
            found = emf.metrics_of(text)
        except emf.NotEmf as error:
            log.warning("[%s] an embedded-metric-format line gave no metrics: %s", stream.label, error)
            continue
        for metric in found:
            for value in metric.values:
                recorder.record(
                    stream.account_id, stream.region, metric.namespace, metric.name, value,
                    metric.unit, metric.dimensions, (metric.timestamp_ms or timestamp) / 1000,
                )  # fmt: skip
