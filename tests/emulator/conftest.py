"""moto with the emulator's patches, for the tests that run moto in-process, and moto as it was
afterwards, for every test that follows (the patches go through emulator.patching)."""

from collections.abc import Iterator

import pytest

from emulator import patches


@pytest.fixture(scope="package", autouse=True)
def patched_moto() -> Iterator[None]:
    patches.install()
    patches.load_cloudformation()
    yield
    patches.uninstall()
