"""How the emulator changes moto: `replace` records what it replaced and who replaced it, so
`undo_all` can put moto back as it was (tests install the changes for a while, not for the rest
of the session) and a test can check that each change lives in its service's folder."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

_MISSING = object()


@dataclass(frozen=True)
class Replacement:
    owner: Any  # a class or a module
    name: str
    own: Any  # what `owner` itself held before (_MISSING: it inherited the attribute)
    by: str  # the module that made the change


_replaced: list[Replacement] = []


def replace(owner: Any, name: str, value: Any) -> Any:
    """Set `owner.name` to `value` (a class's or module's attribute); returns the replaced one."""
    by = sys._getframe(1).f_globals["__name__"]
    _replaced.append(Replacement(owner, name, vars(owner).get(name, _MISSING), by))
    previous = getattr(owner, name, None)
    setattr(owner, name, value)
    return previous


def original(owner: Any, name: str) -> Any:
    """`owner.name` as it was before the emulator first replaced it (moto's own, to call from a
    replacement or beside it); the attribute itself when it was never replaced."""
    for replaced in _replaced:
        if replaced.owner is owner and replaced.name == name and replaced.own is not _MISSING:
            return replaced.own
    return getattr(owner, name)


@contextmanager
def swapped(owner: Any, name: str, value: Any) -> Iterator[None]:
    """`owner.name` is `value` inside the block only."""
    previous = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, previous)


def replacements() -> list[Replacement]:
    return list(_replaced)


def undo_all() -> None:
    while _replaced:
        replaced = _replaced.pop()
        if replaced.own is _MISSING:
            delattr(replaced.owner, replaced.name)
        else:
            setattr(replaced.owner, replaced.name, replaced.own)
