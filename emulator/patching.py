"""How the emulator changes moto: `replace` records what it replaced, so `undo_all` can put moto
back as it was (tests install the patches for a while, not for the rest of the session)."""

from typing import Any

_MISSING = object()
_replaced: list[tuple[Any, str, Any]] = []


def replace(owner: Any, name: str, value: Any) -> Any:
    """Set `owner.name` to `value` (a class's or module's attribute); returns the replaced one."""
    own = vars(owner).get(name, _MISSING)
    _replaced.append((owner, name, own))
    previous = getattr(owner, name, None)
    setattr(owner, name, value)
    return previous


def original(owner: Any, name: str) -> Any:
    """`owner.name` as it was before the emulator first replaced it (moto's own, to call from a
    replacement or beside it); the attribute itself when it was never replaced."""
    for replaced_owner, replaced_name, own in _replaced:
        if replaced_owner is owner and replaced_name == name and own is not _MISSING:
            return own
    return getattr(owner, name)


def undo_all() -> None:
    while _replaced:
        owner, name, own = _replaced.pop()
        if own is _MISSING:
            delattr(owner, name)
        else:
            setattr(owner, name, own)
