"""Lambda code asset built on the host (never Docker): functions/ plus its pure-Python requirements."""

import shutil
import subprocess
import sys
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


@jsii.implements(cdk.ILocalBundling)
class PipLocalBundling:
    """Copies the function sources and pip-installs the requirements as pure-Python wheels.

    `--platform any --abi none --implementation py` admits only pure wheels, so a dependency
    that would need a compiled build fails here instead of crashing on Lambda's other CPU.
    """

    def try_bundle(self, output_dir: str, _options: Any) -> bool:
        shutil.copytree(
            FUNCTIONS_DIR, output_dir, ignore=shutil.ignore_patterns(*IGNORED), dirs_exist_ok=True
        )
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
                output_dir,
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
    there and picks up every saved change (third-party packages come from the Python that runs them)."""
    bucket = s3.Bucket.from_bucket_name(scope, "HotReloadBucket", HOT_RELOAD_BUCKET)
    return lambda_.Code.from_bucket(bucket, str(FUNCTIONS_DIR))
