"""A worker's buffered output and the emulator's end of its pipe, joined by a real pipe in-process."""

import os
import time
from collections.abc import Callable, Iterator

import pytest

from emulator.lambda_ import output as output_module
from emulator.lambda_.output import END_MARK, BufferedOutput, OutputPipe, _unread

LINE = "line {:02} ..........\n"


@pytest.fixture
def pipe() -> Iterator[tuple[int, Callable[[], OutputPipe]]]:
    """The write end, and the read end as the emulator's OutputPipe once asked for (reading starts then)."""
    read, write = os.pipe()
    readers: list[OutputPipe] = []

    def reader() -> OutputPipe:
        readers.append(OutputPipe(os.fdopen(read, "rb"), name="test-logs"))
        return readers[0]

    yield write, reader
    os.close(write)
    if readers:
        readers[0].wait_closed(5)  # EOF: it closes the read end itself
    else:
        os.close(read)


def texts(lines: list[tuple[float, str]]) -> list[str]:
    return [text for _, text in lines]


def test_what_outgrows_the_buffer_spills_to_the_pipe_with_its_write_times(
    pipe: tuple[int, Callable[[], OutputPipe]], monkeypatch: pytest.MonkeyPatch
) -> None:
    write, reader = pipe
    monkeypatch.setattr(output_module, "SPILL_BYTES", 30 * len(LINE.format(0)))
    output = BufferedOutput(write)
    for i in range(60):
        output.write(LINE.format(i))
        if i == 30:  # just spilled lines 0-30; the rest are written measurably later
            time.sleep(0.02)
    handed = output.hand_over()  # the spill still unread: the later lines went behind it, direct
    time.sleep(0.02)  # read later still: a line stamped when read would look newer than all
    lines = reader().take(until_mark=handed.get("mark", False), handed=handed["logs"])
    assert texts(lines) == [LINE.format(i).strip() for i in range(60)]
    assert lines[30][0] < lines[31][0] - 15  # the spilled lines kept the time they were written


def test_lines_written_behind_unread_raw_output_keep_their_place(
    pipe: tuple[int, Callable[[], OutputPipe]],
) -> None:
    """A subprocess's output, then the handler's line, with the emulator reading only later."""
    write, reader = pipe
    output = BufferedOutput(write)
    output.write("printed first\n")
    os.write(write, b"from a subprocess\n")  # what a subprocess writes to the shared fd
    output.write("printed after it\n")
    handed = output.hand_over()
    assert handed["mark"]  # nobody has read the pipe yet
    assert texts(handed["logs"]) == ["printed first"]
    lines = reader().take(until_mark=True, handed=handed["logs"])
    assert texts(lines) == ["printed first", "from a subprocess", "printed after it"]
    stamps = [stamp for stamp, _ in lines]
    assert stamps == sorted(stamps)  # the log's store orders events by time
    assert output.hand_over() == {"logs": []}  # read now: no mark needed


def test_a_raw_line_read_before_a_printed_one_comes_before_it_however_late_the_reader_is(
    pipe: tuple[int, Callable[[], OutputPipe]], monkeypatch: pytest.MonkeyPatch
) -> None:
    write, reader = pipe
    real_read = os.read

    def slow_read(fd: int, size: int) -> bytes:  # the reader takes the bytes, then loses the CPU
        data = real_read(fd, size)
        time.sleep(0.05)
        return data

    monkeypatch.setattr(output_module.os, "read", slow_read)
    output = BufferedOutput(write)
    pipe_reader = reader()
    os.write(write, b"from a subprocess\n")
    deadline = time.monotonic() + 5
    while _unread(write) and time.monotonic() < deadline:  # taken from the pipe, not yet stamped
        time.sleep(0.001)
    output.write("printed after it\n")
    handed = output.hand_over()
    assert "mark" not in handed
    lines = pipe_reader.take(handed=handed["logs"])
    assert texts(lines) == ["from a subprocess", "printed after it"]


def test_a_spill_with_mark_ends_with_the_partial_line_and_the_mark(
    pipe: tuple[int, Callable[[], OutputPipe]],
) -> None:
    write, reader = pipe
    output = BufferedOutput(write)
    output.write("whole\nunfinished")
    output.spill(mark=True)
    assert texts(reader().take(until_mark=True)) == ["whole", "unfinished"]  # the mark left out
    assert output.hand_over() == {"logs": []}


def test_a_line_that_only_looks_stamped_is_kept_whole(pipe: tuple[int, Callable[[], OutputPipe]]) -> None:
    write, reader = pipe
    lookalikes = ["\x00not a time\x00text", "\x00b123", "\x00x1.5\x00text", "\x00bnan\x00text"]
    os.write(write, "".join(f"{line}\n" for line in lookalikes).encode() + END_MARK.encode() + b"\n")
    assert texts(reader().take(until_mark=True)) == lookalikes
