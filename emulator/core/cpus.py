"""The emulator's own threads run on one CPU; the processes it starts run on all of them.

The emulator is one Python process: its threads take turns holding the GIL, so together they never
use more than one CPU's time. Spread over several CPUs they only hand the GIL across them: the
thread that gives it up wakes one on another CPU, which fetches the interpreter's state into its
own caches, while a thread kept waiting makes the holder drop it at the switch interval. On one
CPU a handoff is a plain switch. The functions' workers and the state saves are processes of their
own: `release` gives them every CPU the emulator started with.

What it saves is measured in docs/performance.md (#24's item 2, "the emulator's threads on one
CPU") and in every `make bench` (its `--cpus all` row).

Linux only (sched_setaffinity); elsewhere, and with a single CPU, this changes nothing.
"""

import contextlib
import os

ONE, ALL = "one", "all"
CHOICES = (ONE, ALL)

# The CPUs this process was started with, read when this module is first imported: before `pin`,
# which is in this module, can narrow them.
STARTED_WITH: frozenset[int] = (
    frozenset(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else frozenset()
)


def pin(choice: str) -> int | None:
    """With ONE, run this thread, and every thread it starts from now on, on one of the CPUs this
    process started with: call it before the emulator starts any thread. The CPU, or None."""
    if choice != ONE or len(STARTED_WITH) < 2:
        return None
    cpu = sorted(STARTED_WITH)[os.getpid() % len(STARTED_WITH)]  # emulators side by side spread
    os.sched_setaffinity(0, {cpu})
    return cpu


def release(pid: int = 0) -> None:
    """Let process `pid` (0: the calling thread, i.e. a child just forked) run on every CPU the
    emulator started with. A process the emulator starts inherits its one CPU otherwise."""
    if len(STARTED_WITH) > 1:
        with contextlib.suppress(ProcessLookupError):  # it has exited already: nothing to run
            os.sched_setaffinity(pid, STARTED_WITH)
