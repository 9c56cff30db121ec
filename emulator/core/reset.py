"""A state reset (`make local-reset`: POST /moto-api/reset) never fails because a moto module is
being imported meanwhile. moto's reset walks its registry of model classes, which a model class
defined on another thread grows (CloudFormation imports every service in the background after
start); the walk goes over a snapshot of it instead."""

from emulator.patching import replace


def reset_model_data() -> None:
    """moto's own, over a snapshot: list() of a dict's values is taken whole, under the GIL."""
    from moto.core.model_instances import model_data

    for models in list(model_data.values()):
        for model in list(models.values()):
            model.instances_tracked = []  # type: ignore[attr-defined]


def install() -> None:
    from moto.moto_api._internal import models

    # RuntimeError: dictionary changed size during iteration, from POST /moto-api/reset while
    # load-cloudformation imports moto's services
    replace(models, "reset_model_data", reset_model_data)
