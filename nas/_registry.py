"""The one registry behind spaces, tasks, strategies, ops and export rules: names to
objects, a duplicate name refused, an unknown one answered with "did you mean ...?".

Every lookup and listing first loads the plugins (``nas._plugins.load_plugins``), so a
space, task, strategy or op that a plugin package registers is found like a built-in one;
registering never does (plugins register while they are imported).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from nas._plugins import load_plugins

T = TypeVar("T")

UNKNOWN = "unknown {kind} '{name}'{hint} (registered: {registered})"
DUPLICATE = "a {kind} named '{name}' is already registered"


def suggest(name: str, names: list[str], n: int = 3) -> str:
    """``"did you mean a, b?"`` for the up to ``n`` names closest to ``name``, else ``""``."""
    close = difflib.get_close_matches(name, names, n=n)
    return f"did you mean {', '.join(close)}?" if close else ""


class Registry(Generic[T]):
    """Named objects of one kind (``Registry[SpaceFn]("search space", error=SpaceError)``).

    kind: what an entry is, for messages. error: called as ``error(message, **context)``
    for an unknown name (``context`` comes from ``get``). unknown / duplicate: the
    messages, ``str.format`` templates over ``kind``, ``name``, ``hint`` ("; did you mean
    ...?" or ""), ``registered`` (the names, or "none") and ``get``'s context.
    """

    def __init__(self, kind: str, *, error: Callable[..., Exception] = ValueError,
                 unknown: str = UNKNOWN, duplicate: str = DUPLICATE):
        self.kind = kind
        self.error = error
        self.unknown = unknown
        self.duplicate = duplicate
        self._items: dict[str, T] = {}

    def register(self, name: str, obj: T | None = None):
        """Add ``obj`` under ``name`` (returns it); without ``obj``, a decorator doing so.
        A name already taken raises ``ValueError``."""
        if obj is None:
            return lambda o: self.register(name, o)
        if name in self._items:
            raise ValueError(self.duplicate.format(kind=self.kind, name=name))
        self._items[name] = obj
        return obj

    def get(self, name: str, *, shown: str | None = None, **context) -> T:
        """The object registered as ``name``; else ``error`` naming the closest names and
        the registered ones. ``shown``: the name as the user wrote it (``csv:data.csv``
        looked up as ``csv``); ``context``: more template fields, also given to ``error``."""
        load_plugins()
        try:
            return self._items[name]
        except KeyError:
            pass
        hint = suggest(name, self.names())
        message = self.unknown.format(kind=self.kind, name=shown or name,
                                      hint=f"; {hint}" if hint else "",
                                      registered=", ".join(self.names()) or "none", **context)
        raise self.error(message, **context) from None

    def names(self) -> list[str]:
        """The registered names, sorted."""
        load_plugins()
        return sorted(self._items)

    def doc(self, name: str) -> str:
        """The first line of the docstring of what ``name`` is registered as ("" if none)."""
        text = (getattr(self.get(name), "__doc__", None) or "").strip()
        return text.splitlines()[0] if text else ""

    def __contains__(self, name: object) -> bool:
        load_plugins()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        load_plugins()
        return len(self._items)

    def __delitem__(self, name: str) -> None:
        """Forget ``name`` (tests that register a temporary entry undo it so)."""
        del self._items[name]

    def pop(self, name: str, default: T | None = None) -> T | None:
        """Forget ``name`` and return what it was registered as (``default`` if nothing)."""
        return self._items.pop(name, default)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self._items)} registered)"
