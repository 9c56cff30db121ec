"""A state reset while a moto module is being imported (a model class registered meanwhile)."""

from collections.abc import Iterator

import pytest
from moto.core.model_instances import model_data
from moto.moto_api._internal.models import moto_api_backend


class RegistersAnother(type):
    """A model class whose reset registers another model class, as an import on another thread
    does in the middle of moto's walk over its registry."""

    def __setattr__(cls, name: str, value: object) -> None:
        if name == "instances_tracked":
            model_data[f"emulator-test-{len(model_data)}"]["Late"] = type("Late", (), {})
        super().__setattr__(name, value)


class Early(metaclass=RegistersAnother):
    pass


@pytest.fixture
def registry_that_grows_during_a_reset() -> Iterator[None]:
    before = set(model_data)
    model_data["emulator-test"]["Early"] = Early
    yield
    for service in set(model_data) - before:
        del model_data[service]


def test_a_reset_survives_a_model_class_registered_meanwhile(
    registry_that_grows_during_a_reset: None,
) -> None:
    moto_api_backend.reset()  # moto's own walk raises: dictionary changed size during iteration
    assert Early.instances_tracked == []
