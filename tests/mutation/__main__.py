"""`make mutation`: mutmut over functions/ (the domain package and the handlers) against their tests.

mutmut names mutants by module path from the folder it runs in, while the Lambda bundle (and so
the tests) import `orders...` and `create_order` from functions/ itself; so it runs in a staging
folder laid out as the bundle is (.local/mutation), with the tests beside it. Prints the score and
each surviving mutant's diff; see docs/mutation.md for the last run and why each survivor stays.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

from emulator.settings import LOCAL

REPO = Path(__file__).resolve().parents[2]
STAGE = REPO / LOCAL / "mutation"
CONFIG = """
[tool.pytest.ini_options]
pythonpath = ["."]
addopts = "-q -p no:cacheprovider"

[tool.mutmut]
source_paths = ["orders", "create_order.py", "process_order.py", "get_order.py"]
pytest_add_cli_args_test_selection = ["tests/functions/"]
"""


def stage() -> None:
    shutil.rmtree(STAGE, ignore_errors=True)
    shutil.copytree(
        REPO / "functions", STAGE, ignore=shutil.ignore_patterns("__pycache__", "requirements.txt")
    )
    shutil.copytree(REPO / "tests" / "functions", STAGE / "tests" / "functions")
    (STAGE / "tests" / "__init__.py").write_text("")
    (STAGE / "pyproject.toml").write_text(CONFIG)


def mutmut(*args: str) -> str:
    command = [str(Path(sys.executable).parent / "mutmut"), *args]
    return subprocess.run(command, cwd=STAGE, capture_output=True, text=True, check=False).stdout


def main() -> int:
    stage()
    print(f"mutmut: running over functions/ in {STAGE.relative_to(REPO)} (a few minutes) ...", flush=True)
    subprocess.run(
        [str(Path(sys.executable).parent / "mutmut"), "run", "--max-children", "2"],
        cwd=STAGE,
        stdout=subprocess.DEVNULL,
        check=False,
    )
    results = mutmut("results", "--all", "true")
    statuses = re.findall(r"^\s*(\S+): (\w[\w ]*)$", results, re.MULTILINE)
    killed = sum(1 for _, status in statuses if status == "killed")
    survivors = [name for name, status in statuses if status == "survived"]
    others = sorted({status for _, status in statuses} - {"killed", "survived"})
    total = killed + len(survivors)
    if total == 0:
        print(results or "mutmut produced no results", file=sys.stderr)
        return 1
    print(f"\nmutation score: {killed}/{total} killed = {100 * killed / total:.1f} %")
    if others:
        print(f"(not counted: {', '.join(others)})")
    for name in survivors:
        print(f"\nsurvived: {name}\n{mutmut('show', name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
