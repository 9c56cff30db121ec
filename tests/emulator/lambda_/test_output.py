"""A worker's buffered output and the emulator's end of its pipe, joined by a real pipe in-process."""

import os
import time
from collections.abc import Callable, Iterator

import pytest

from emulator.lambda_ import output as output_module
from emulator.lambda_.output import END_MARK, BufferedOutput, OutputPipe

LINE = "line {:02} ..........\n"  # 19 characters


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
    handed = output.hand_over()
    time.sleep(0.02)  # read later still: a line stamped when read would look newer than all
    spilled = reader().take(until_mark=handed.get("mark", False))
    assert [text for _, text in spilled] == [LINE.format(i).strip() for i in range(31)]
    assert [text for _, text in handed["logs"]] == [LINE.format(i).strip() for i in range(31, 60)]
    assert max(stamp for stamp, _ in spilled) < min(stamp for stamp, _ in handed["logs"])


def test_raw_output_still_unread_at_the_answer_is_waited_for(
    pipe: tuple[int, Callable[[], OutputPipe]],
) -> None:
    write, reader = pipe
    output = BufferedOutput(write)
    output.write("printed\n")
    os.write(write, b"from a subprocess\n")  # what a subprocess writes to the shared fd
    handed = output.hand_over()
    assert handed["mark"]  # nobody has read the pipe yet
    assert [text for _, text in reader().take(until_mark=True)] == ["from a subprocess"]
    assert [text for _, text in handed["logs"]] == ["printed"]
    assert output.hand_over() == {"logs": []}  # read now: no mark needed


def test_a_spill_with_mark_ends_with_the_partial_line_and_the_mark(
    pipe: tuple[int, Callable[[], OutputPipe]],
) -> None:
    write, reader = pipe
    output = BufferedOutput(write)
    output.write("whole\nunfinished")
    output.spill(mark=True)
    lines = reader().take(until_mark=True)
    assert [text for _, text in lines] == ["whole", "unfinished"]  # the mark itself left out
    assert output.hand_over() == {"logs": []}


def test_a_line_that_only_looks_stamped_is_kept_whole(pipe: tuple[int, Callable[[], OutputPipe]]) -> None:
    write, reader = pipe
    os.write(write, b"\x00not a time\x00text\n\x00123\n" + END_MARK.encode() + b"\n")
    assert [text for _, text in reader().take(until_mark=True)] == ["\x00not a time\x00text", "\x00123"]
