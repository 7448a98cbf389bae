"""Teacher backends by name: a name -> class table each backend registers in.

Backend `<name>` lives in `teacher/<name>_backend.py` and registers its class there with
`@register_backend("<name>")`. The names come from the file names, so listing them (config
validation) imports no backend; a backend's module is imported only when that backend is
chosen, so vLLM, torch or the HTTP client load only when they are needed. A new backend is
one file.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from cotpd.corpus.errors import CotpdError
from cotpd.teacher.backend import SamplingParams, TeacherBackend

MODULE_SUFFIX = "_backend"
_PACKAGE = "cotpd.teacher"


class BackendClass(Protocol):
    """What a registered class offers: a backend built from the teacher config section.
    (`config` is a `TeacherConfig`; typed loosely here because the config module imports
    this one to validate `teacher.backend`.)"""

    @classmethod
    def from_config(cls, config: Any, sampling: SamplingParams) -> TeacherBackend: ...


_CLASSES: dict[str, type[BackendClass]] = {}
Registered = TypeVar("Registered", bound=type)


def register_backend(name: str) -> Callable[[Registered], Registered]:
    """Class decorator: `teacher.backend: <name>` builds this class with `from_config`."""

    def register(cls: Registered) -> Registered:
        if not callable(getattr(cls, "from_config", None)):
            raise TypeError(f"backend {name!r}: {cls.__name__} has no from_config classmethod")
        known = _CLASSES.get(name)
        if known is not None and known.__qualname__ != cls.__qualname__:  # a reload is fine
            raise ValueError(f"backend {name!r} is registered twice: {known.__qualname__} "
                             f"and {cls.__qualname__}")
        _CLASSES[name] = cls
        return cls

    return register


def backend_names() -> tuple[str, ...]:
    """Every valid `teacher.backend`: the backend modules' names, none of them imported,
    and any class registered at run time."""
    folder = Path(__file__).resolve().parent
    found = {module.name.removesuffix(MODULE_SUFFIX)
             for module in pkgutil.iter_modules([str(folder)])
             if module.name.endswith(MODULE_SUFFIX)}
    return tuple(sorted(found | set(_CLASSES)))


def unknown_backend_message(name: str) -> str:
    """One line naming the valid backends (and the closest one, for a typo)."""
    valid = backend_names()
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown teacher backend {name!r}{hint} (valid: {', '.join(valid)})"


def backend_class(name: str) -> type[BackendClass]:
    """The class registered as `name`, importing its module on first use."""
    if name not in _CLASSES:
        if name not in backend_names():
            raise CotpdError(unknown_backend_message(name))
        module = f"{_PACKAGE}.{name}{MODULE_SUFFIX}"
        importlib.import_module(module)
        if name not in _CLASSES:  # a module by the naming rule that registers nothing
            raise CotpdError(f"{module} registers no backend {name!r} "
                             f"(decorate its class with @register_backend({name!r}))")
    return _CLASSES[name]
