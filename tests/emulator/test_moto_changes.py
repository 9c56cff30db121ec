"""The emulator's changes to moto are listed in one install() and undone by uninstall(), so tests
that run after the emulator's see moto as it is; and each change lives in the folder of the
service it changes (checked in a fresh interpreter, with every change installed)."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CHECK = """
import json
from emulator import moto_changes, patching

moto_changes.install()
moto_changes.load_cloudformation()
entries = patching.replacements()
installed = [(e.owner, e.name, getattr(e.owner, e.name, None)) for e in entries]
moto_changes.uninstall()
rows = []
for entry, (owner, name, value) in zip(entries, installed):
    now = vars(owner).get(name, patching._MISSING)
    rows.append({
        "moto": owner.__name__ if isinstance(owner, type(json)) else owner.__module__,
        "attribute": f"{getattr(owner, '__name__', owner)}.{name}",
        "by": entry.by,
        "undone": now is entry.own,
    })
print(json.dumps({"rows": rows, "left": len(patching.replacements())}))
"""

# moto's package -> the emulator's folder for it, where the names differ
FOLDERS = {
    "awslambda": "lambda_",
    "apigatewayv2": "apigw",
    "dynamodbstreams": "dynamodb",
    "moto_api": "core",
    "moto_server": "core",
    "utilities": "core",
}


def folder_of(module: str) -> str:
    """moto.sqs.models -> sqs; emulator.sqs.store -> sqs."""
    package = module.split(".")[1]
    return FOLDERS.get(package, package) if module.startswith("moto.") else package


def installed_changes() -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(result.stdout)


def test_every_change_is_undone_and_lives_with_the_service_it_changes() -> None:
    found = installed_changes()
    rows = found["rows"]
    assert isinstance(rows, list) and len(rows) > 40  # every change, not a sample of them
    assert found["left"] == 0
    assert [row["attribute"] for row in rows if not row["undone"]] == []
    misplaced = [
        f"{row['attribute']} ({row['moto']}) changed by {row['by']}"
        for row in rows
        if not row["moto"].startswith("moto.") or folder_of(row["moto"]) != folder_of(row["by"])
    ]
    assert misplaced == []


def test_the_folder_rule_reads_moto_and_emulator_modules_alike() -> None:
    assert folder_of("moto.awslambda.models") == folder_of("emulator.lambda_.patches") == "lambda_"
    assert folder_of("moto.sqs.models") == folder_of("emulator.sqs.store") == "sqs"
    assert folder_of("moto.core.responses") == folder_of("emulator.core.speedups") == "core"
    assert folder_of("moto.s3.models") != folder_of("emulator.sqs.store")
