"""Snapshots of an interface's state, as its history keeps them.

A fleet keeps several per laptop, so a snapshot is one tuple of values read through a
mapping interface (``snap["state"]``, ``dict(snap)``, ``{**snap}``), a quarter of a dict's
size; values that print differently from how they are kept (an address, an error code) are
converted when read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar


def text_or_empty(value: Any) -> str:
    """An address as netsh prints it, or "" when there is none."""
    return str(value) if value else ""


class Snapshot(Mapping):
    """A read-only mapping of ``fields`` to ``values``; subclasses name the fields."""

    __slots__ = ("_values",)
    fields: ClassVar[tuple[str, ...]] = ()
    convert: ClassVar[dict[str, Callable[[Any], Any]]] = {}
    _index: ClassVar[dict[str, int]] = {}
    __hash__ = None  # type: ignore[assignment]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._index = {name: i for i, name in enumerate(cls.fields)}

    def __init__(self, values: tuple) -> None:
        self._values = values

    def __getitem__(self, key: str) -> Any:
        value = self._values[self._index[key]]
        conv = self.convert.get(key)
        return value if conv is None else conv(value)

    def __iter__(self) -> Iterator[str]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def __eq__(self, other: object) -> bool:
        return dict(self) == dict(other) if isinstance(other, Mapping) else NotImplemented

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self)!r})"
