"""How `make test` shares its tests between workers (pytest -n 3): what must run in one
process stays together, everything else is spread one test at a time.

  e2e/                  one worker, so the suite deploys its stack once (the walkthrough, which
                        starts targets of its own, apart)
  the harness's targets  all cases of one target on one worker (one emulator, one ministack)
  SHARED_FIXTURES       a module's (or a test's cases') one emulator, or one synth, started once

The longest units are handed out first (LONGEST_FIRST).

pytest-xdist's own `--dist loadgroup` cannot do it with pytest 9: it marks a group by rewriting
`item._nodeid`, which pytest 9 no longer reads (a node's id is `item._id`), so every test ran
alone and the e2e suite deployed its stack on both workers.
"""

import re
from collections.abc import Iterator
from typing import Any

import pytest

HARNESS_TARGET = re.compile(r"^tests/cloudformation/test_update_equals_create\.py::.*\[(embedded|ministack)-")
# Tests sharing a module-scoped emulator (tests/cdk: its synths and the CDK's validation engine, ~8 s
# to load per process): on one worker it starts once, not once per worker.
SHARED_FIXTURES = (
    "tests/cdk/test_stack.py::",
    "tests/emulator/test_triggers.py::",
    "tests/emulator/sns/test_delivery.py::",
    "tests/emulator/lambda_/test_asynchronous.py::",
    "tests/emulator/test_reliability.py::test_malformed_json_api_calls_get_aws_client_errors[",
)
# The longest work units (minutes of deploys; `make test` prints the slowest tests) start first,
# in this order, so no worker is left alone with one of them at the end; the rest follow.
LONGEST_FIRST = (
    "e2e-suite",
    "e2e/test_extending.py",
    "tests/emulator/test_redeploy.py",
    "harness-",
    "tests/workspace/test_local_commands.py",
    "tests/load/test_load_run.py",
)


def work_unit(nodeid: str) -> str:
    """The tests that must share a worker share this name; any other test is its own."""
    if nodeid.startswith("e2e/") and not nodeid.startswith("e2e/test_extending.py"):
        return "e2e-suite"
    harness = HARNESS_TARGET.match(nodeid)
    if harness:
        return f"harness-{harness.group(1)}"
    return next((shared for shared in SHARED_FIXTURES if nodeid.startswith(shared)), nodeid)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every worker collects in this order, and work units are handed out in it."""

    def rank(item: pytest.Item) -> int:
        unit = work_unit(item.nodeid)
        return next(
            (i for i, prefix in enumerate(LONGEST_FIRST) if unit.startswith(prefix)), len(LONGEST_FIRST)
        )

    items.sort(key=rank)  # stable: a module's tests keep their order


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling

    class ByWorkUnit(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    config.option.loadscopereorder = False  # the collection's order (above), not the units' sizes
    return ByWorkUnit(config, log)


# No test may make moto reach for Docker (functions run in the emulator's runtime): the emulator
# logs DOCKER_REFUSED wherever moto tries, in this process and in every emulator a test starts.
@pytest.fixture(autouse=True)
def moto_never_tries_docker(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    yield
    from emulator.core.docker import DOCKER_REFUSED

    records = [*caplog.get_records("setup"), *caplog.get_records("call")]
    tried = [r.getMessage() for r in records if DOCKER_REFUSED in r.getMessage()]
    assert not tried, tried


@pytest.fixture(scope="session", autouse=True)
def started_emulators_never_try_docker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield
    from emulator.core.docker import DOCKER_REFUSED

    logs = tmp_path_factory.getbasetemp().rglob("*.log")
    tried = [str(log) for log in logs if DOCKER_REFUSED in log.read_text(errors="replace")]
    assert not tried, f"moto tried to use Docker; see {tried}"
