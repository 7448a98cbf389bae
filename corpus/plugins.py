"""Named plug-ins: teacher backends, captioners, student variants.

A `Registry` maps names to what they build. An entry gets there in one of three ways:
- `@registry.register("name")` on a class (or `registry.add("name", obj)` for a value);
- a lazy entry, name -> module: the module is imported only when that name is chosen, so a
  heavy library (torch, vLLM, an HTTP client) loads only for the plug-in that needs it;
- a Python entry point in the group `cotpd.<kind>` of an installed distribution, so a plug-in
  can live outside this repository. Its object is loaded, like a lazy module, only when
  its name is chosen.

Listing the names imports nothing (config validation runs on every command), and an unknown
name is refused naming the valid ones and the closest.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

from cotpd.corpus.errors import CotpdError

T = TypeVar("T")
Item = TypeVar("Item")
GROUP_PREFIX = "cotpd."


class Registry(Generic[T]):
    """Names -> plug-ins of one kind (e.g. "teacher backend"), each checked against `base`.

    `base` is a class (an entry must be a subclass, or an instance for values) or a
    `typing.Protocol` (an entry must have each of its methods); None checks nothing.
    `group` is the entry-point group read for plug-ins installed elsewhere.
    """

    def __init__(self, kind: str, group: str, base: type | None = None,
                 lazy: Mapping[str, str] | None = None) -> None:
        if not group.startswith(GROUP_PREFIX):
            raise ValueError(f"entry-point group {group!r} must start with {GROUP_PREFIX!r}")
        self.kind, self.group, self.base = kind, group, base
        self._lazy = dict(lazy or {})
        self._entries: dict[str, T] = {}
        self._entry_points: dict[str, EntryPoint] | None = None  # read once, when first needed

    def register(self, name: str) -> Callable[[Item], Item]:
        """Decorator: the class (or function) is the entry `name`."""

        def register(item: Item) -> Item:
            self.add(name, item)  # type: ignore[arg-type]
            return item

        return register

    def add(self, name: str, item: T) -> T:
        known = self._entries.get(name)
        if known is not None and not _same(known, item):
            raise ValueError(f"{self.kind} {name!r} is registered twice: {_qualname(known)} "
                             f"and {_qualname(item)}")
        problem = _misfit(item, self.base)
        if problem:
            raise TypeError(f"{self.kind} {name!r}: {_qualname(item)} {problem}")
        self._entries[name] = item
        return item

    def names(self) -> tuple[str, ...]:
        """Every valid name, sorted; no plug-in module is imported."""
        return tuple(sorted(set(self._entries) | set(self._lazy) | set(self._discovered())))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def unknown_message(self, name: str) -> str:
        """One line naming the valid names (and the closest one, for a typo)."""
        valid = self.names()
        close = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown {self.kind} {name!r}{hint} (valid: {', '.join(valid)})"

    def get(self, name: str) -> T:
        """The entry `name`, importing its module or loading its entry point on first use."""
        if name in self._entries:
            return self._entries[name]
        if name in self._lazy:
            module = self._lazy[name]
            importlib.import_module(module)
            if name not in self._entries:  # a module by the naming rule that registers nothing
                raise CotpdError(f"{module} registers no {self.kind} {name!r}")
            return self._entries[name]
        point = self._discovered().get(name)
        if point is None:
            raise CotpdError(self.unknown_message(name))
        loaded = point.load()  # a decorated class registers itself while its module loads
        if name not in self._entries:
            self.add(name, loaded)
        return self._entries[name]

    def copy(self) -> Registry[T]:
        """An independent registry with the same entries (to register into for a while)."""
        twin: Registry[T] = Registry(self.kind, self.group, self.base, self._lazy)
        twin._entries = dict(self._entries)
        return twin

    def _discovered(self) -> dict[str, EntryPoint]:
        if self._entry_points is None:
            self._entry_points = {point.name: point
                                  for point in entry_points(group=self.group)}
        return self._entry_points


def _qualname(item: Any) -> str:
    owner = item if inspect.isclass(item) or inspect.isfunction(item) else type(item)
    # `cotpd.teacher.x` and a checkout's bare `teacher.x` are one module imported twice.
    return f"{owner.__module__.removeprefix('cotpd.')}.{owner.__qualname__}"


def _same(known: Any, item: Any) -> bool:
    """A class or function defined again (its module imported twice, or reloaded) is the
    same entry; a value is the same when equal."""
    if inspect.isclass(item) or inspect.isfunction(item):
        return _qualname(known) == _qualname(item)
    return bool(known == item)


def _misfit(item: Any, base: type | None) -> str | None:
    """Why `item` is no `base` (None: it is one)."""
    if base is None:
        return None
    if getattr(base, "_is_protocol", False):
        # isinstance/issubclass refuse protocols with data members, and would not say
        # which method is missing: look the methods up by name instead.
        missing = [m for m in _protocol_methods(base) if not callable(getattr(item, m, None))]
        return f"has no {', '.join(missing)}" if missing else None
    if inspect.isclass(item):
        return None if issubclass(item, base) else f"is no subclass of {base.__qualname__}"
    return None if isinstance(item, base) else f"is no {base.__qualname__}"


def _protocol_methods(protocol: type) -> list[str]:
    """The methods a protocol declares, its own first, then those it extends."""
    names: list[str] = []
    for klass in protocol.__mro__:
        if klass is object or not getattr(klass, "_is_protocol", False):
            continue
        for name, value in vars(klass).items():
            function = value.__func__ if isinstance(value, classmethod | staticmethod) else value
            if (not name.startswith("_") and inspect.isfunction(function)
                    and name not in names):
                names.append(name)
    return names

