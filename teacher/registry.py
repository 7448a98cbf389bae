"""Teacher backends by name (`teacher.backend`).

Backend `<name>` lives in `teacher/<name>_backend.py` and registers its class there with
`@register_backend("<name>")`. The names come from the file names, so listing them (config
validation) imports no backend; a backend's module is imported only when that backend is
chosen, so vLLM, torch or the HTTP client load only when they are needed. A backend outside
this repository registers through the entry-point group `cotpd.teacher_backends`.
"""

from __future__ import annotations

import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from cotpd.corpus.plugins import Registry
from cotpd.teacher.backend import SamplingParams, TeacherBackend

MODULE_SUFFIX = "_backend"
GROUP = "cotpd.teacher_backends"


class BackendClass(Protocol):
    """What a registered class offers: a backend built from the teacher config section.
    (`config` is a `TeacherConfig`; typed loosely here because the config module imports
    this one to validate `teacher.backend`.)"""

    @classmethod
    def from_config(cls, config: Any, sampling: SamplingParams) -> TeacherBackend: ...


def _backend_modules() -> dict[str, str]:
    """name -> module of every `<name>_backend.py` beside this file, none imported."""
    folder = Path(__file__).resolve().parent
    return {module.name.removesuffix(MODULE_SUFFIX): f"cotpd.teacher.{module.name}"
            for module in pkgutil.iter_modules([str(folder)])
            if module.name.endswith(MODULE_SUFFIX)}


BACKENDS: Registry[type[BackendClass]] = Registry(
    "teacher backend", GROUP, base=BackendClass, lazy=_backend_modules())
Registered = TypeVar("Registered", bound=type)


def register_backend(name: str) -> Callable[[Registered], Registered]:
    """Class decorator: `teacher.backend: <name>` builds this class with `from_config`."""
    return BACKENDS.register(name)


def backend_names() -> tuple[str, ...]:
    """Every valid `teacher.backend`, no backend module imported."""
    return BACKENDS.names()


def unknown_backend_message(name: str) -> str:
    return BACKENDS.unknown_message(name)


def backend_class(name: str) -> type[BackendClass]:
    """The class registered as `name`, importing its module on first use."""
    return BACKENDS.get(name)
