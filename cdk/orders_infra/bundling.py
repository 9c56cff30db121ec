"""The functions' code in the stack: the package built on the host (`package.py`), or, hot-reloaded,
functions/ itself with the requirements as a layer."""

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from orders_infra import package
from orders_infra.package import FUNCTIONS_DIR, IGNORED

RUNTIME = lambda_.Runtime.PYTHON_3_14  # the newest Lambda Python; the code also runs on the local 3.11


@jsii.implements(cdk.ILocalBundling)
class PipLocalBundling:
    """The function sources plus their installed requirements (`package.build`)."""

    def try_bundle(self, output_dir: str, _options: Any) -> bool:
        package.build(Path(output_dir), RUNTIME.name)
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
        code=lambda_.Code.from_asset(str(package.dependencies_dir(RUNTIME.name))),
        compatible_runtimes=[RUNTIME],
        description="functions/requirements.txt, for the hot-reloaded functions",
    )
