"""The log sink: every line a function prints reaches CloudWatch Logs and emulator.log."""

import threading

import pytest

from emulator.cloudwatch.metrics import MetricRecorder
from emulator.logs import sink as logs
from emulator.logs.sink import LogSink, LogStream

STREAM = LogStream("000000000000", "us-east-1", "/aws/lambda/chatty", "stream", "chatty")


def test_lines_written_during_a_batch_are_not_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[str] = []
    first_batch_started, release = threading.Event(), threading.Event()

    def slow_write(batch: list[tuple[LogStream, list[tuple[int, str]]]]) -> None:
        taken = [text for _, lines in batch for _, text in lines]
        first_batch_started.set()
        release.wait(5)  # a slow write: more lines arrive meanwhile
        written.extend(taken)

    monkeypatch.setattr(logs.LogSink, "_write", staticmethod(slow_write))
    sink = LogSink(MetricRecorder())
    try:
        sink.write(STREAM, [(1, "INIT_START")])
        assert first_batch_started.wait(5)
        sink.write(STREAM, [(2, "hello"), (3, "world")])
        release.set()
        sink.flush()
        assert written == ["INIT_START", "hello", "world"]
    finally:
        sink.close()
