"""Amazon Resource Names (`arn:partition:service:region:account:resource`): the one parser of
them in the emulator."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str  # all after the fifth colon: "orders-queue", "function:name:alias", "table/T/stream/..."

    @property
    def name(self) -> str:
        """The resource's own name: its last `:`- or `/`-separated part (a queue's, a topic's)."""
        return self.resource.replace("/", ":").rsplit(":", 1)[-1]


def parse(arn: str) -> Arn:
    """The ARN's parts; ValueError for a string that is not an ARN."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: {arn!r}")
    return Arn(*parts[1:])


def function_name(name_or_arn: str) -> str:
    """A function's name from any form Lambda accepts: its name, its ARN (qualified or not), or a
    partial ARN (`123456789012:function:name`)."""
    return name_or_arn.split(":function:", 1)[-1].split(":", 1)[0]
