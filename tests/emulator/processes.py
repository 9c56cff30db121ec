"""Finding the emulator's worker processes from a test."""

from pathlib import Path


def workers_running_in(directory: Path) -> list[int]:
    """Processes whose working directory is under `directory` (function code is unpacked there)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if Path(proc / "cwd").resolve().is_relative_to(directory):
                found.append(int(proc.name))
        except OSError:
            continue
    return found
