"""YAML configs: `base:` inheritance, `--set key.sub=value` overrides, strict validation.

Each stage owns its section's model; `RunConfig` only composes them. A wrong key fails and
names the closest valid one.
"""

from __future__ import annotations

import difflib
import os
import re
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from cotpd.augment.config import AugmentConfig
from cotpd.caption.config import CaptionConfig
from cotpd.corpus.config import DataConfig
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.schema import StrictModel, operational
from cotpd.student.config import StudentConfig
from cotpd.teacher.config import TeacherConfig
from cotpd.teacher.prompt_fit import prompt_problems
from pydantic import BaseModel, Field, PrivateAttr, ValidationError, model_validator


class ConfigError(CotpdError):
    """A config file or override that does not validate."""


class RunSection(StrictModel):
    """Where a run writes and how it is seeded."""

    # Where a run is written is not what it computes: a moved run stays finished.
    name: str = operational("run", description="The run's name: its folder under output_dir.")
    output_dir: Path = operational(Path("runs"), description="Folder holding the runs.")
    seed: int = Field(42, description="The student's training seed.")

    @property
    def directory(self) -> Path:
        return self.output_dir / self.name


class RunConfig(StrictModel):
    """One experiment: what every stage reads from the config file."""

    run: RunSection = Field(RunSection(), description="Where the run writes, its seed.")
    data: DataConfig = Field(description="The dataset and the data root.")
    caption: CaptionConfig | None = Field(
        None, description="The caption stage; absent: not run.")
    teacher: TeacherConfig | None = Field(
        None, description="The teach stage; absent: not run.")
    student: StudentConfig | None = Field(
        None, description="The train and evaluate stages; absent: not run.")
    augment: AugmentConfig | None = Field(
        None, description="The augment stage; absent: not run.")
    # Keys whose `${VAR}` was unset when the config was loaded with `defer_unset`: key ->
    # variable. The key holds its text as written; a stage that reads it refuses to start.
    _unset: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _prompts_fit_the_dataset(self) -> RunConfig:
        # A prompt naming MRE's pair cannot be rendered for an MNER sentence: say so now.
        problems = prompt_problems(self.teacher, self.data.dataset) if self.teacher else []
        if problems:
            raise ValueError("\n  ".join(problems))
        return self

    @model_validator(mode="after")
    def _student_settings_fit_the_task(self) -> RunConfig:
        # Only student.mre can miss its task; the student's task parts (and torch) are
        # imported only when it is set.
        if self.student is None or self.student.mre.is_default:
            return self
        from cotpd.corpus.registry import get_dataset
        from cotpd.student.tasks import student_task

        problems = student_task(get_dataset(self.data.dataset).task).config_problems(
            self.student)
        if problems:
            raise ValueError("\n  ".join(problems))
        return self

    @property
    def unset_variables(self) -> dict[str, str]:
        return dict(self._unset)

    def require_set(self, keys: tuple[str, ...], stage: str) -> None:
        """Fail, naming the key and the variable, if a key under one of `keys` (dotted
        prefixes such as `teacher` or `student.encoder`) refers to an unset variable."""
        for key, name in self._unset.items():
            if any(key == k or key.startswith((f"{k}.", f"{k}[")) for k in keys):
                raise ConfigError(_unset_message(self._source, key, name, stage))

    _source: str = PrivateAttr(default="config")


def load_yaml_with_base(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a YAML config; `base: other.yaml` (relative to this file) is loaded first and
    this file's keys are merged over it."""
    path = Path(path).resolve()
    if path in _chain:
        cycle = " -> ".join(str(p) for p in (*_chain, path))
        raise ConfigError(f"config inheritance loops: {cycle}")
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML ({getattr(error, 'problem', error)})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top, found "
                          f"{type(data).__name__}")
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ConfigError(f"{path}: 'base' must be a file name, found {base!r}")
    parent = load_yaml_with_base(path.parent / base, (*_chain, path))
    return deep_merge(parent, data)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `key.sub=value` strings; values are parsed as YAML (`3` is an int, `[a, b]` a
    list, `null` None)."""
    result = deep_merge({}, data)
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            raise ConfigError(f"--set {item!r}: expected key.sub=value")
        try:
            value = yaml.safe_load(raw) if raw else ""
        except yaml.YAMLError:
            value = raw
        node = result
        *parents, leaf = key.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            else:
                child = dict(child)
                node[part] = child
            node = child
        node[leaf] = value
    return result


def validate(model: type[BaseModel], data: dict[str, Any], source: str) -> Any:
    """Validate `data` into `model`; every problem is reported with its dotted key."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"{source}: invalid config\n" + "\n".join(
            "  " + _describe(model, e) for e in error.errors())) from None


def _describe(model: type[BaseModel], error: dict[str, Any]) -> str:
    loc = [str(part) for part in error["loc"]]
    dotted = ".".join(loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        valid = _fields_at(model, loc[:-1])
        close = difflib.get_close_matches(loc[-1], valid, n=1, cutoff=0.5)
        hint = f"; did you mean {'.'.join([*loc[:-1], close[0]])!r}?" if close else ""
        return f"unknown key {dotted!r}{hint} (valid here: {', '.join(valid)})"
    if error["type"] == "missing":
        return f"{dotted}: required key missing"
    found = error.get("input")
    shown = f" (found {found!r})" if found is not None and not isinstance(found, dict) else ""
    return f"{dotted}: {error['msg']}{shown}"


def _fields_at(model: type[BaseModel], loc: list[str]) -> list[str]:
    current: type[BaseModel] | None = model
    for part in loc:
        field = current.model_fields.get(part) if current else None
        current = _model_in(field.annotation) if field else None
    return sorted(current.model_fields) if current else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found:
                return found
    return None


_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _unset_message(source: str, key: str, name: str, stage: str | None = None) -> str:
    needed = f" (the {stage} stage reads it)" if stage else ""
    return (f"{source}: {key} refers to ${{{name}}}, which is not set{needed}; "
            f"export {name}=... (see docs/pipeline.md)")


def expand_environment(data: Any, source: str, key: str = "",
                       unset: dict[str, str] | None = None) -> Any:
    """Replace `${VAR}` in string values with the environment variable's value, so one
    config serves every cluster (`${COTPD_MODELS}/xlm-roberta-large`). An unset variable is
    an error naming the key; with an `unset` dict it is recorded there instead (key ->
    variable) and the value keeps its text, so only the stages that read it need it."""
    if isinstance(data, dict):
        return {k: expand_environment(v, source, f"{key}.{k}" if key else str(k), unset)
                for k, v in data.items()}
    if isinstance(data, list):
        return [expand_environment(v, source, f"{key}[{i}]", unset) for i, v in enumerate(data)]
    if not isinstance(data, str):
        return data

    missing = [m.group(1) for m in _ENV_REFERENCE.finditer(data) if m.group(1) not in os.environ]
    if missing:
        if unset is None:
            raise ConfigError(_unset_message(source, key, missing[0]))
        unset[key] = missing[0]
        return data
    whole = _ENV_REFERENCE.fullmatch(data.strip())
    if whole:  # a value that is only `${VAR}` may hold a YAML list or mapping
        text = os.environ[whole.group(1)]
        return yaml.safe_load(text) if text.lstrip()[:1] in ("[", "{") else text
    return _ENV_REFERENCE.sub(lambda m: os.environ[m.group(1)], data)


def _placeholders(data: dict[str, Any], unset: dict[str, str]) -> dict[str, Any]:
    """An unset key whose field holds a list gets its text as the one item, so the config
    still validates (`base_urls: ${COTPD_TEACHER_URLS}` -> `['${COTPD_TEACHER_URLS}']`)."""
    for key in unset:
        if "[" in key:
            continue
        *parents, leaf = key.split(".")
        node = data
        for part in parents:
            node = node[part]
        annotation = _annotation_at(RunConfig, key.split("."))
        if typing.get_origin(annotation) is list and isinstance(node[leaf], str):
            node[leaf] = [node[leaf]]
    return data


def _annotation_at(model: type[BaseModel], loc: list[str]) -> Any:
    current: type[BaseModel] | None = model
    annotation: Any = None
    for part in loc:
        field = current.model_fields.get(part) if current else None
        if field is None:
            return None
        annotation = field.annotation
        current = _model_in(annotation)
    return annotation


def load_run_config(path: str | Path, overrides: list[str] | None = None,
                    defer_unset: bool = False) -> RunConfig:
    """The run config of `path` with `overrides`. With `defer_unset`, a `${VAR}` that is not
    set fails only when a stage that reads its key runs (`RunConfig.require_set`): training
    does not need the teacher's server URL."""
    data = apply_overrides(load_yaml_with_base(path), overrides or [])
    if not defer_unset:
        return validate(RunConfig, expand_environment(data, str(path)), str(path))
    unset: dict[str, str] = {}
    expanded = _placeholders(expand_environment(data, str(path), unset=unset), unset)
    config = validate(RunConfig, expanded, str(path))
    config._unset, config._source = unset, str(path)
    return config
