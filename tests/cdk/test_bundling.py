"""The Lambda asset is built on the host and imports on this Python (the emulator's) as on Lambda's."""

import os
import subprocess
import sys
from pathlib import Path

from orders_infra.bundling import PipLocalBundling


def test_bundle_holds_sources_and_pure_python_deps_without_boto3(tmp_path: Path) -> None:
    assert PipLocalBundling().try_bundle(str(tmp_path), None) is True
    names = {p.name for p in tmp_path.iterdir()}
    assert {
        "create_order.py",
        "process_order.py",
        "get_order.py",
        "orders",
        "aws_lambda_powertools",
        "aws_xray_sdk",
    } <= names
    assert not {"boto3", "botocore"} & names, "the Lambda runtime provides boto3; bundling it wastes 30 MB"
    assert not list(tmp_path.rglob("*.so")), "compiled extensions would not run on Lambda's arm64"

    check = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import create_order, process_order, get_order, aws_lambda_powertools, wrapt;"
        "assert aws_lambda_powertools.__file__.startswith(sys.argv[1]), aws_lambda_powertools.__file__;"
        "assert wrapt.__file__.startswith(sys.argv[1]), wrapt.__file__"
    )
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": "us-east-1",
        "TABLE_NAME": "t",
        "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/000000000000/q",
        "IDEMPOTENCY_PARTITION": "IDEMPOTENCY#create_order",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    result = subprocess.run(
        [sys.executable, "-c", check, str(tmp_path)], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
