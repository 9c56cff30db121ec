"""moto keeps every model instance it ever created (each SQS message, each S3 key, ...) in its
class's `instances_tracked`, for its dashboard (/moto-api/data.json) and for S3's reset, until
the next reset: a deleted message stayed in memory for good, and so did the copy each receive
hands out (~2 KB per order). The lists hold their instances weakly instead, so what the
backends dropped is freed, and the dashboard and the reset still find every live instance."""

import weakref
from collections.abc import Iterable, Iterator
from typing import Any

from moto.core.common_models import BaseModel

from emulator.patching import replace


class WeakInstances:
    """A class's live instances, appended to and iterated as moto does its list. Kept by identity:
    some models compare by value and cannot be hashed (a DynamoDB item)."""

    def __init__(self, instances: Iterable[Any] = ()) -> None:
        self._alive: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        for instance in instances:
            self.append(instance)

    def append(self, instance: Any) -> None:
        self._alive[id(instance)] = instance

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._alive.values()))

    def __len__(self) -> int:
        return len(self._alive)


def tracked_weakly(cls: type, *args: Any, **kwargs: Any) -> Any:
    instance = super(BaseModel, cls).__new__(cls)  # type: ignore[misc]  # as moto's __new__ does
    tracked = cls.instances_tracked  # type: ignore[attr-defined]
    if not isinstance(tracked, WeakInstances):  # as the class was made, or after a reset
        tracked = WeakInstances(tracked)
        cls.instances_tracked = tracked  # type: ignore[attr-defined]
    tracked.append(instance)
    return instance


def install() -> None:
    replace(BaseModel, "__new__", staticmethod(tracked_weakly))
