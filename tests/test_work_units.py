"""conftest.py's work units name tests that exist: a renamed module or test would otherwise
silently go back to starting its shared emulator once per worker."""

from pathlib import Path

import conftest

ROOT = Path(conftest.__file__).parent


def test_every_shared_fixture_unit_names_an_existing_module_or_test() -> None:
    for unit in conftest.SHARED_FIXTURES:
        module, _, test = unit.partition("::")
        source = (ROOT / module).read_text()
        assert test.rstrip("[") == "" or f"def {test.rstrip('[')}(" in source, unit


def test_the_tests_of_a_shared_fixture_are_one_unit_and_others_are_their_own() -> None:
    assert conftest.work_unit("tests/emulator/test_triggers.py::test_a") == conftest.work_unit(
        "tests/emulator/test_triggers.py::test_b"
    )
    malformed = "tests/emulator/test_reliability.py::test_malformed_json_api_calls_get_aws_client_errors"
    assert conftest.work_unit(f"{malformed}[a]") == conftest.work_unit(f"{malformed}[b]")
    other = "tests/emulator/test_reliability.py::test_invoke_checks_what_lambda_checks"
    assert conftest.work_unit(other) == other
