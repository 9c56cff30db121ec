"""Lambda code asset built on the host (never Docker): functions/ plus its pure-Python requirements."""

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

RUNTIME = lambda_.Runtime.PYTHON_3_14  # the newest Lambda Python; the code also runs on the local 3.11
FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"
IGNORED = ["__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache"]


DEPENDENCIES_CACHE = FUNCTIONS_DIR.parent / ".local" / "dependencies"


def dependencies_dir() -> Path:
    """functions/requirements.txt installed as pure-Python wheels, in Lambda's layer layout
    (`python/`), once per requirements and runtime: every synth reuses it.

    `--platform any --abi none --implementation py` admits only pure wheels, so a dependency
    that would need a compiled build fails here instead of crashing on Lambda's other CPU.
    """
    requirements = (FUNCTIONS_DIR / "requirements.txt").read_bytes()
    digest = hashlib.sha256(requirements + RUNTIME.name.encode()).hexdigest()[:16]
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
            RUNTIME.name.removeprefix("python"),
        ],
        check=True,
    )
    try:
        partial.rename(done)  # whole or not at all: an interrupted install is never reused
    except OSError:  # another synth finished the same install first
        shutil.rmtree(partial, ignore_errors=True)
    return done


@jsii.implements(cdk.ILocalBundling)
class PipLocalBundling:
    """The function sources plus their installed requirements (`dependencies_dir`)."""

    def try_bundle(self, output_dir: str, _options: Any) -> bool:
        shutil.copytree(
            FUNCTIONS_DIR, output_dir, ignore=shutil.ignore_patterns(*IGNORED), dirs_exist_ok=True
        )
        shutil.copytree(dependencies_dir() / "python", output_dir, dirs_exist_ok=True)
        return True


def functions_code() -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(FUNCTIONS_DIR),
        exclude=IGNORED,
        bundling=cdk.BundlingOptions(
            # Docker is only the fallback CDK requires us to name; the local bundler always succeeds first.
            image=RUNTIME.bundling_image,
            local=PipLocalBundling(),  # type: ignore[arg-type]  # jsii hands the options struct over positionally
        ),
    )


HOT_RELOAD_BUCKET = "hot-reload"  # LocalStack's convention, which the embedded emulator and Floci follow


def hot_reload_code(scope: Construct) -> lambda_.Code:
    """The functions straight from functions/ on this machine: the local target runs them from
    there and picks up every saved change. Their packages come in `dependencies_layer`."""
    bucket = s3.Bucket.from_bucket_name(scope, "HotReloadBucket", HOT_RELOAD_BUCKET)
    return lambda_.Code.from_bucket(bucket, str(FUNCTIONS_DIR))


def dependencies_layer(scope: Construct) -> lambda_.LayerVersion:
    """functions/requirements.txt as a layer, for hot-reloaded functions: LocalStack and Floci
    run them in a container that has only what the folder and the layers hold (the embedded
    emulator runs them on the Python that has the packages already)."""
    return lambda_.LayerVersion(
        scope,
        "Dependencies",
        code=lambda_.Code.from_asset(str(dependencies_dir())),
        compatible_runtimes=[RUNTIME],
        description="functions/requirements.txt, for the hot-reloaded functions",
    )
