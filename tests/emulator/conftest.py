"""moto with the emulator's patches, for the tests that run moto in-process, and moto as it was
afterwards, for every test that follows (the patches go through emulator.patching, listed in emulator.moto_changes)."""

from collections.abc import Iterator

import pytest

from emulator import moto_changes


@pytest.fixture(scope="package", autouse=True)
def patched_moto() -> Iterator[None]:
    moto_changes.install()
    moto_changes.load_cloudformation()
    yield
    moto_changes.uninstall()
