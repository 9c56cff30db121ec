"""Lambda's changes to moto: a function's LoggingConfig is kept (the runtime writes there)."""

import functools
from typing import Any

from moto.awslambda.models import LambdaFunction

from emulator.patching import replace


def keep_logging_config() -> None:
    """moto drops a function's LoggingConfig; the runtime needs its LogGroup to write logs there."""
    original_init = LambdaFunction.__init__

    @functools.wraps(original_init)
    def init(self: LambdaFunction, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        original_init(self, account_id, spec, *args, **kwargs)
        setattr(self, "logging_config", spec.get("LoggingConfig"))  # noqa: B010 - an attribute moto does not declare

    replace(LambdaFunction, "__init__", init)

    original_create = LambdaFunction.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    original_update = LambdaFunction.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(
        cls: type, resource_name: str, cloudformation_json: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        fn = original_create(cls, resource_name, cloudformation_json, *args, **kwargs)
        fn.logging_config = cloudformation_json["Properties"].get("LoggingConfig")
        return fn

    def update(
        cls: type,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        fn = original_update(cls, original_resource, new_resource_name, cloudformation_json, *args, **kwargs)
        fn.logging_config = cloudformation_json["Properties"].get("LoggingConfig")
        return fn

    original_configuration = LambdaFunction.get_configuration

    @functools.wraps(original_configuration)
    def get_configuration(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = original_configuration(self, *args, **kwargs)
        logging_config = getattr(self, "logging_config", None)
        if logging_config:
            config["LoggingConfig"] = {"LogFormat": "Text", **logging_config}
        return config

    replace(LambdaFunction, "get_configuration", get_configuration)
    replace(LambdaFunction, "create_from_cloudformation_json", classmethod(create))
    replace(LambdaFunction, "update_from_cloudformation_json", classmethod(update))
