"""Base types for the stages' typed configs: unknown keys fail, values are checked."""

from __future__ import annotations

import yaml
from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A config section: an unknown or mistyped key is an error, never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class ModelPathMarker:
    """Marks a config field as a local model path, so `cotpd doctor` checks it exists."""


def model_paths(config: BaseModel, prefix: str = "") -> list[tuple[str, str | None]]:
    """Every field marked as a model path in `config`, with its dotted key."""
    found: list[tuple[str, str | None]] = []
    for name, field in type(config).model_fields.items():
        value = getattr(config, name)
        key = f"{prefix}{name}"
        if any(isinstance(meta, ModelPathMarker) for meta in field.metadata):
            found.append((key, str(value) if value is not None else None))
        elif isinstance(value, BaseModel):
            found.extend(model_paths(value, prefix=f"{key}."))
    return found


def config_to_yaml(config: BaseModel) -> str:
    """A validated config as YAML, defaults included: what a run really used."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
