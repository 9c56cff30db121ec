"""Helpers the emulator tests share: function code as a zip, and finding worker processes."""

import io
import zipfile
from pathlib import Path


def code_zip(files: dict[str, str]) -> bytes:
    """A deployment package holding `files` (name -> source)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


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
