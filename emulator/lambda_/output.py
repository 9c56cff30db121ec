"""A function's log output: each line stamped when written, most of them handed over with the answer.

Worker side, `BufferedOutput` is the worker's sys.stdout and sys.stderr: the lines the function's
code writes wait in memory and travel in the answer's message, so an invocation's logging costs
no pipe write per line and no wake-up of an emulator thread per line (a sixth of the emulator's
thread wake-ups per order, 0-3 % of its CPU). The raw output pipe (fd 1 and 2), read by the
emulator's `OutputPipe`, carries everything else: what subprocesses and C code write to the fds,
what a process the handler forked writes, and spills. The buffer spills its lines to the pipe when
it grows past SPILL_BYTES, when the worker exits, and on SPILL_SIGNAL, which the emulator sends a
timed-out worker before killing it, so the lines before a hang are in the log as on Lambda. Lost
are only lines written right before the process ends itself without unwinding (os._exit, a crash
in C).

Order: the pipe's lines keep the pipe's order; the buffered ones are merged in by the time they
were written. That is exact because a line is buffered only while the pipe holds nothing unread
(FIONREAD, at each write): once raw output waits there, that line and the invocation's later ones
go to the pipe behind it ("direct"). And a raw line is stamped with the time just before the read
that took it: never later than it left the pipe (so before a line buffered after that), never
earlier than a line buffered before it was written (a buffered line means the pipe was empty).
On the pipe a line carries its kind and time: NUL, "b" (buffered, spilled) or "d" (direct), the
time in ms, NUL, the text.
"""

import contextlib
import fcntl
import heapq
import io
import os
import re
import select
import signal
import struct
import sys
import termios
import threading
import time
from collections.abc import Iterable
from typing import IO, Any, BinaryIO

# Written to the pipe after an invocation's raw output, when some of it is still unread (see
# BufferedOutput.hand_over), so the emulator knows it has read every line of it.
END_MARK = "\x00emulator-invocation-end\x00"
SPILL_BYTES = 256 * 1024
SPILL_SIGNAL = signal.SIGUSR2
BUFFERED, DIRECT = "b", "d"
_STAMPED = re.compile(r"\x00([bd])(\d+\.\d+)\x00(.*)", re.DOTALL)

Line = tuple[float, str]  # (ms since the epoch, to the microsecond: lines are ordered by it; text)


def now() -> float:
    return time.time() * 1000


class BufferedOutput(io.TextIOBase):
    """The worker's sys.stdout and sys.stderr (one object, so their lines keep their order);
    `fd` is the output pipe."""

    encoding = "utf-8"

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._owner = os.getpid()
        self._lock = threading.RLock()  # reentrant: SPILL_SIGNAL's handler may interrupt a write
        self._lines: list[Line] = []
        self._partial = ""
        self._size = 0
        self._direct = False  # raw output came first: this invocation's lines go to the pipe
        self._binary: BinaryIO | None = None

    @classmethod
    def install(cls) -> "BufferedOutput":
        """Become this process's sys.stdout and sys.stderr, before the function's code is imported
        (a logger made at import keeps the stream it found), and spill on SPILL_SIGNAL."""
        output = cls(1)  # fd 2 is the same pipe
        sys.stdout = sys.stderr = output
        signal.signal(SPILL_SIGNAL, lambda *_: output.spill(mark=True))
        return output

    def adopt(self) -> None:
        """Make the calling process (a worker the template forked) the one whose lines are kept."""
        self._owner = os.getpid()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._fd

    @property
    def buffer(self) -> BinaryIO:
        """Bytes written here go to the pipe directly, as from a subprocess."""
        if self._binary is None:
            self._binary = open(self._fd, "wb", buffering=0, closefd=False)  # noqa: SIM115 - lives as long as we do
        return self._binary

    def write(self, text: str) -> int:
        if os.getpid() != self._owner:  # a process the handler forked: its output never reaches an answer
            self._write_raw(text)
            return len(text)
        stamp = now()
        with self._lock:
            *complete, self._partial = (self._partial + text).split("\n")
            if complete and (self._direct or _unread(self._fd)):
                self._direct = True  # behind the raw output that waits in the pipe, in its order
                self._write_raw("".join(_framed(DIRECT, stamp, line) for line in complete))
            else:
                self._lines.extend((stamp, line) for line in complete)
                self._size += len(text)
                if self._size > SPILL_BYTES:
                    self.spill()
        return len(text)

    def hand_over(self) -> dict[str, Any]:
        """What the answer carries: the buffered lines, and `mark` when raw output is still unread in
        the pipe (then END_MARK follows it there, and the emulator waits for it)."""
        with self._lock:
            lines = self._take(partial=True)  # an unfinished line ends with its invocation
            self._direct = False
        handed: dict[str, Any] = {"logs": lines}
        if _unread(self._fd):
            self._write_raw(END_MARK + "\n")
            handed["mark"] = True
        return handed

    def spill(self, mark: bool = False) -> None:
        """Write the buffered lines to the pipe; with `mark`, the partial line and END_MARK too."""
        with self._lock:
            lines = self._take(partial=mark)
            text = "".join(_framed(BUFFERED, stamp, line) for stamp, line in lines)
            text += END_MARK + "\n" if mark else ""
            if text:
                self._write_raw(text)

    def _take(self, partial: bool) -> list[Line]:
        lines, self._lines = self._lines, []
        if partial and self._partial:
            lines.append((now(), self._partial))
            self._partial = ""
        self._size = len(self._partial)
        return lines

    def _write_raw(self, text: str) -> None:
        data = text.encode("utf-8", errors="replace")
        with contextlib.suppress(OSError):  # the emulator is gone: nobody left to read it
            while data:
                data = data[os.write(self._fd, data) :]


def _framed(kind: str, stamp: float, line: str) -> str:
    return f"\x00{kind}{stamp:.3f}\x00{line}\n"


def _unread(fd: int) -> int:
    """Bytes in the pipe behind `fd` not read yet (FIONREAD works on either end of a pipe)."""
    try:
        return int(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0])
    except OSError:
        return 0


class OutputPipe:
    """The emulator's end of a worker's raw output pipe, read on a thread of its own. A read and the
    append of its lines happen under one lock, so once the worker has seen the pipe empty, every
    line it held is in `take()`; that is what makes END_MARK needed only when the worker saw
    unread bytes."""

    def __init__(self, output: IO[bytes], name: str) -> None:
        self._output = output
        self._piped: list[Line] = []  # raw and direct lines, in the pipe's order
        self._spilled: list[Line] = []  # buffered lines that came by the pipe
        self._lock = threading.Condition()
        self._thread = threading.Thread(target=self._read, name=name, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        fd = self._output.fileno()
        readable = select.poll()
        readable.register(fd, select.POLLIN)
        partial = b""
        with self._output:  # closed here, at EOF, so its fd number is never reused under us
            while True:
                readable.poll()
                with self._lock:
                    before = now()  # no later than the read's bytes left the pipe
                    data = os.read(fd, 65536)
                    if not data:
                        break
                    *complete, partial = (partial + data).split(b"\n")
                    for raw in complete:
                        self._add(raw, before)
                    if any(raw == _END_MARK_BYTES for raw in complete):
                        self._lock.notify_all()  # wake the invocation only once its output is complete
        with self._lock:
            if partial:
                self._add(partial, now())
            self._lock.notify_all()

    def _add(self, raw: bytes, read_at: float) -> None:
        kind, line = parse(raw, read_at)
        (self._spilled if kind == BUFFERED else self._piped).append(line)

    def take(self, until_mark: bool = False, timeout: float = 1.0, handed: Iterable[Line] = ()) -> list[Line]:
        """The lines read so far merged with `handed` (the answer's), in order and with times that
        never go back (a raw line read late may be stamped after a direct one behind it), END_MARK
        left out; with `until_mark`, once END_MARK came (or `timeout` passed, or the pipe closed)."""
        with self._lock:
            if until_mark:
                self._lock.wait_for(
                    lambda: not self._thread.is_alive() or any(t == END_MARK for _, t in self._piped),
                    timeout=timeout,
                )
            piped, self._piped = [line for line in self._piped if line[1] != END_MARK], []
            buffered = sorted([*self._spilled, *((float(s), t) for s, t in handed)], key=_stamp)
            self._spilled = []
        ordered, latest = [], 0.0
        for stamp, text in heapq.merge(piped, buffered, key=_stamp):
            latest = max(latest, stamp)  # never earlier than the line before: logs sort by time
            ordered.append((latest, text))
        return ordered

    def wait_closed(self, timeout: float) -> None:
        """Until the worker's end of the pipe closed (it exited) and everything in it was read."""
        self._thread.join(timeout)


_END_MARK_BYTES = END_MARK.encode()


def parse(raw: bytes, read_at: float) -> tuple[str | None, Line]:
    """A line from the pipe: its kind (BUFFERED, DIRECT, or None for raw output) and the line, with
    its own time or, raw, `read_at`."""
    text = raw.decode("utf-8", errors="replace")
    stamped = _STAMPED.fullmatch(text)
    if stamped is None:
        return None, (read_at, text)
    kind, stamp, rest = stamped.groups()
    return kind, (float(stamp), rest)


def _stamp(line: Line) -> float:
    return line[0]
