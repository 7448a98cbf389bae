"""Captioners by name (`caption.backend`).

Each captioner class registers itself with `@register_captioner("<name>")` and builds itself
from the caption section (`from_config`). The names below map to the modules that hold them,
so listing them (config validation) imports nothing, and a captioner's libraries load only
when it is chosen. A captioner outside this repository registers through the entry-point
group `cotpd.captioners`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from cotpd.corpus.plugins import Registry

GROUP = "cotpd.captioners"
NONE = "none"  # no captioner: the stage writes nothing


class CaptionerClass(Protocol):
    """What a registered class offers: a captioner built from the caption section.
    (`config` is a `CaptionConfig` and the result a `Captioner`; typed loosely because the
    config module imports this one to validate `caption.backend`.)

    It may also offer `run_elsewhere(config, data, run_dir, retry_failed) -> dict | None`:
    the whole stage run in another environment, its summary returned; None runs it here."""

    @classmethod
    def from_config(cls, config: Any, images_dir: Path) -> Any: ...


CAPTIONERS: Registry[type[CaptionerClass]] = Registry(
    "captioner", GROUP, base=CaptionerClass,
    lazy={"file": "cotpd.caption.captioners", "transformers": "cotpd.caption.captioners",
          "lavis": "cotpd.caption.lavis_captioner"})
Registered = TypeVar("Registered", bound=type)


def register_captioner(name: str) -> Callable[[Registered], Registered]:
    """Class decorator: `caption.backend: <name>` builds this class with `from_config`."""
    return CAPTIONERS.register(name)


def captioner_names() -> tuple[str, ...]:
    """Every valid `caption.backend` besides `none`, no captioner module imported."""
    return CAPTIONERS.names()


def unknown_captioner_message(name: str) -> str:
    return f"{CAPTIONERS.unknown_message(name)}; {NONE}: no captions"


def captioner_class(name: str) -> type[CaptionerClass]:
    """The class registered as `name`, importing its module on first use."""
    return CAPTIONERS.get(name)
