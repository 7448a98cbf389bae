"""Base types for the stages' typed configs: unknown keys fail, values are checked."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic.fields import FieldInfo


class StrictModel(BaseModel):
    """A config section: an unknown or mistyped key is an error, never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class ModelPathMarker:
    """Marks a config field as a local model path, so `cotpd doctor` checks it exists."""


def operational(default: Any, *, description: str, added_later: bool = False,
                **constraints: Any) -> Any:
    """A field that says where or how fast work is done (a server URL, a concurrency, a
    timeout), never what comes out: config fingerprints leave it out, so changing it keeps
    finished work finished. `added_later`: see `added_later` (for the fingerprints recorded
    before operational fields were left out)."""
    extra = {"operational": True, **({"omit_at_default": True} if added_later else {})}
    return Field(default, description=description, json_schema_extra=extra, **constraints)


def is_operational(field: FieldInfo) -> bool:
    extra = field.json_schema_extra
    return isinstance(extra, dict) and extra.get("operational") is True


def added_later(default: Any, *, description: str, **constraints: Any) -> Any:
    """A field added after runs were recorded: at its default it is left out of config
    fingerprints, so runs made before it existed (which behaved as the default does) stay
    finished; set to anything else, it is part of them like any field."""
    return Field(default, description=description,
                 json_schema_extra={"omit_at_default": True}, **constraints)


def _omitted_at_default(field: FieldInfo, value: Any) -> bool:
    extra = field.json_schema_extra
    return (isinstance(extra, dict) and extra.get("omit_at_default") is True
            and value == field.default)


def result_settings(config: BaseModel) -> dict[str, Any]:
    """`config` as JSON data without its operational fields (nor fields added later, at
    their defaults): every setting that can change a result (extra keys a section allows
    are kept)."""
    return _settings(config, config.model_dump(mode="json"), operational=False)


def settings_as_recorded_before(config: BaseModel) -> dict[str, Any]:
    """`config` as JSON data with its operational fields, fields added later left out at
    their defaults: what fingerprints hashed before operational fields were left out."""
    return _settings(config, config.model_dump(mode="json"), operational=True)


def _settings(config: BaseModel, data: dict[str, Any], operational: bool) -> dict[str, Any]:
    fields = type(config).model_fields
    kept: dict[str, Any] = {}
    for key, value in data.items():
        field = fields.get(key)
        if field is not None and ((not operational and is_operational(field))
                                  or _omitted_at_default(field, getattr(config, key, None))):
            continue
        inner = getattr(config, key, None)
        if isinstance(inner, BaseModel) and isinstance(value, dict):
            value = _settings(inner, value, operational)
        kept[key] = value
    return kept


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
