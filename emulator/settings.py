"""The workspace's paths and the emulator's defaults, each written once. Everything else (the
CLI, the server, the workspace commands, tests) imports them from here.

`.local/` is the workspace's own folder, relative to where the commands run: the repository when
`make` runs them, a folder of their own when tests do.
"""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]  # the checkout: node_modules, the CDK app
LOCAL = Path(".local")
PID_FILE = LOCAL / "emulator.pid"
LOG_FILE = LOCAL / "emulator.log"
ENDPOINT_FILE = LOCAL / "endpoint"  # the endpoint `make local-up` started, until it stops
WORK_DIR = LOCAL / "emulator"  # where deployed function code is unpacked
MAILBOX = LOCAL / "mailbox"  # where SNS email subscriptions get their messages
SAVED_STATE = LOCAL / "state"  # `make local-up` keeps the emulator's state here across restarts
OUTPUTS = LOCAL / "outputs.json"  # the deployed stack's outputs, for the commands that follow
DEPLOY_LOG = LOCAL / "deploy.log"

DEFAULT_PORT = 4566  # LocalStack's, which SDK tooling (awslocal, cdklocal) expects
DEFAULT_REGION = "us-east-1"
DEFAULT_CONCURRENCY = 4  # workers per function without reserved concurrency
IAM_MODES = ("enforce", "audit", "off")
# LocalStack's convention for Lambda code that is a folder on this machine (cdk/ writes the same
# name in its own program: the stack deploys to LocalStack too, where this module is not involved)
HOT_RELOAD_BUCKET = "hot-reload"


def endpoint_on(port: int) -> str:
    return f"http://localhost:{port}"


def port_from_environment() -> int:
    """EMULATOR_PORT when set, else the default."""
    return int(os.environ.get("EMULATOR_PORT") or DEFAULT_PORT)
