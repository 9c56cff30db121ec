"""The functions' Lambda package, built on the host (never Docker): functions/ plus its pure-Python
requirements. No CDK import, so the tooling can build the very same package without a synth
(`make deploy-local HOTSWAP=1` when only the code changed)."""

import hashlib
import io
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"
IGNORED = ["__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache"]
DEPENDENCIES_CACHE = FUNCTIONS_DIR.parent / ".local" / "dependencies"


def dependencies_dir(runtime: str) -> Path:
    """functions/requirements.txt installed as pure-Python wheels for `runtime` (e.g. python3.14), in
    Lambda's layer layout (`python/`), once per requirements and runtime: every synth reuses it.

    `--platform any --abi none --implementation py` admits only pure wheels, so a dependency
    that would need a compiled build fails here instead of crashing on Lambda's other CPU.
    """
    requirements = (FUNCTIONS_DIR / "requirements.txt").read_bytes()
    digest = hashlib.sha256(requirements + runtime.encode()).hexdigest()[:16]
    done = DEPENDENCIES_CACHE / digest
    if done.is_dir():
        return done
    DEPENDENCIES_CACHE.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=DEPENDENCIES_CACHE, prefix=f"{digest}."))
    subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--no-deps",
            "--target",
            str(partial / "python"),
            "--requirement",
            str(FUNCTIONS_DIR / "requirements.txt"),
            "--only-binary=:all:",
            "--platform",
            "any",
            "--implementation",
            "py",
            "--abi",
            "none",
            "--python-version",
            runtime.removeprefix("python"),
        ],
        check=True,
    )
    try:
        partial.rename(done)  # whole or not at all: an interrupted install is never reused
    except OSError:  # another synth finished the same install first
        shutil.rmtree(partial, ignore_errors=True)
    return done


def build(output_dir: Path, runtime: str) -> None:
    """The package's files: the function sources plus their installed requirements."""
    shutil.copytree(FUNCTIONS_DIR, output_dir, ignore=shutil.ignore_patterns(*IGNORED), dirs_exist_ok=True)
    shutil.copytree(dependencies_dir(runtime) / "python", output_dir, dirs_exist_ok=True)


def zipped(runtime: str) -> bytes:
    """The package as the zip Lambda's UpdateFunctionCode takes."""
    with tempfile.TemporaryDirectory() as folder:
        build(Path(folder), runtime)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for path in sorted(Path(folder).rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(folder).as_posix())
        return buffer.getvalue()
