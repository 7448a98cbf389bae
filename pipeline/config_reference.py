"""The config reference, read from the config models themselves: every key with its type,
default, constraints and description. `cotpd config explain` prints it and docs/configs.md
is generated from it, so the two cannot disagree with the code."""

from __future__ import annotations

import difflib
import json
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cotpd.corpus.data_files import PublishedData
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.registry import DatasetSpec
from cotpd.corpus.schema import is_operational
from cotpd.pipeline.config import RunConfig
from cotpd.pipeline.study import StudySpec
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

# What each file's keys are, in the order the reference shows them.
ROOTS: tuple[tuple[str, type[BaseModel], str], ...] = (
    ("run config", RunConfig, "A run's YAML file (configs/*.yaml), `base:` files merged "
                              "under it; any key can be set with `--set KEY=VALUE`."),
    ("study file", StudySpec, "A study's YAML file (studies/*.yaml), read by `cotpd study`."),
    ("dataset registry entry", DatasetSpec,
     "One entry of corpus/datasets.yaml, the datasets cotpd knows."),
    ("data file record", PublishedData,
     "One entry of corpus/data_files.yaml: where a dataset is published and what a correct "
     "copy of each file holds (`cotpd data verify`)."),
)

# Said of keys that change where or how fast work is done, never its result.
OPERATIONAL_NOTE = "Operational: not part of the config fingerprint."


@dataclass(frozen=True)
class Entry:
    root: str
    key: str  # dotted, from the root
    type: str
    default: str
    constraints: str
    description: str
    section: type[BaseModel] | None  # the nested model, for a section key
    operational: bool = False  # left out of the config fingerprint

    @property
    def meaning(self) -> str:
        return self.description + (f" {OPERATIONAL_NOTE}" if self.operational else "")


def entries(root: str, model: type[BaseModel], prefix: str = "") -> list[Entry]:
    """Every key of `model`, sections before their own keys, in declaration order."""
    found: list[Entry] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        section = _section(field.annotation)
        found.append(Entry(root, key, type_name(field.annotation), _default(field),
                           _constraints(field), field.description or "", section,
                           is_operational(field)))
        if section is not None:
            found.extend(entries(root, section, f"{key}."))
    return found


def all_entries(roots: tuple[tuple[str, type[BaseModel], str], ...] = ROOTS) -> list[Entry]:
    return [entry for root, model, _ in roots for entry in entries(root, model)]


def undocumented(roots: tuple[tuple[str, type[BaseModel], str], ...] = ROOTS) -> list[str]:
    """Keys without a description (the reference test requires none)."""
    return [f"{e.root}: {e.key}" for e in all_entries(roots) if not e.description.strip()]


def documented_models() -> set[type[BaseModel]]:
    """Every model the reference covers: the roots and the sections under them."""
    found = {model for _, model, _ in ROOTS}
    found |= {e.section for e in all_entries() if e.section is not None}
    return found


def find(key: str) -> list[Entry]:
    """The entries named `key` (a run-config key first, then study-file and registry
    keys); an unknown key is an error naming the closest ones."""
    every = all_entries()
    matches = [e for e in every if e.key == key]
    if matches:
        return matches
    close = difflib.get_close_matches(key, sorted({e.key for e in every}), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise CotpdError(f"unknown config key {key!r}{hint} (`cotpd config explain` lists them)")


def format_entry(entry: Entry) -> str:
    lines = [f"{entry.key}  ({entry.root})", f"  type: {entry.type}",
             f"  default: {entry.default}"]
    if entry.constraints:
        lines.append(f"  constraints: {entry.constraints}")
    lines.append(f"  {entry.meaning}")
    if entry.section is not None:
        if entry.section.__doc__:
            lines.append(f"  {' '.join(entry.section.__doc__.split())}")
        keys = ", ".join(entry.section.model_fields)
        lines.append(f"  keys: {keys}")
    return "\n".join(lines)


def format_tree() -> str:
    """Every key, indented under its section, with its default and meaning."""
    lines: list[str] = []
    for root, model, about in ROOTS:
        lines += [f"{root}: {about}", ""]
        for entry in entries(root, model):
            depth = entry.key.count(".")
            name = entry.key.rsplit(".", 1)[-1]
            value = "" if entry.section is not None else f" = {entry.default}"
            lines.append(f"{'  ' * (depth + 1)}{name}{value}  # {entry.meaning}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def format_markdown() -> str:
    """docs/configs.md: one table per section, generated from the models."""
    out = ["# Config reference", "",
           "Generated from the config models by `cotpd config explain --markdown`; "
           "`cotpd config explain KEY` prints one key. Do not edit by hand.", ""]
    for root, model, about in ROOTS:
        out += [f"## {root.capitalize()}", "", about, ""]
        out += _table(root, model, "")
    return "\n".join(out).rstrip() + "\n"


def _table(root: str, model: type[BaseModel], prefix: str) -> list[str]:
    rows = [e for e in entries(root, model, prefix) if e.key.count(".") == prefix.count(".")]
    title = f"### `{prefix.rstrip('.')}`" if prefix else "### Top level"
    out = [title, ""]
    if model.__doc__:
        out += [" ".join(model.__doc__.split()), ""]
    out += ["| key | type | default | meaning |", "|---|---|---|---|"]
    for e in rows:
        meaning = e.meaning + (f" ({e.constraints})" if e.constraints else "")
        out.append(f"| `{e.key}` | {_cell(e.type)} | {_cell(e.default, code=True)} | "
                   f"{_cell(meaning)} |")
    out.append("")
    for e in rows:
        if e.section is not None:
            out += _table(root, e.section, f"{e.key}.")
    return out


def _cell(text: str, code: bool = False) -> str:
    text = text.replace("|", "\\|")
    if code and text not in ("required", "(section)"):
        return f"`{text}`"
    return text.replace("<", "&lt;")  # <run> is text, not an HTML tag


# -- types, defaults, constraints ------------------------------------------------------------
def type_name(annotation: Any) -> str:
    """A reader's name for a field type: `int`, `one of a, b`, `list of path`, `... or null`."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        named = [type_name(a) for a in args if a is not type(None)]
        nullable = " or null" if type(None) in args else ""
        return " or ".join(named) + nullable
    if origin in (list, tuple):
        return f"list of {type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"mapping {type_name(args[0])} -> {type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    if annotation is Path:
        return "path"
    if annotation is typing.Any:
        return "any"
    return getattr(annotation, "__name__", str(annotation))


def _section(annotation: Any) -> type[BaseModel] | None:
    candidates = typing.get_args(annotation) or (annotation,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _default(field: FieldInfo) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "(section)"
    if isinstance(value, Path):
        return str(value)
    return json.dumps(value, default=str)


_BOUNDS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<", "min_length": "at least",
           "max_length": "at most", "pattern": "matching"}


def _constraints(field: FieldInfo) -> str:
    parts = []
    for meta in field.metadata:
        for attribute, word in _BOUNDS.items():
            value = getattr(meta, attribute, None)
            if value is not None:
                unit = " item(s)" if attribute in ("min_length", "max_length") else ""
                parts.append(f"{word} {value}{unit}")
    return ", ".join(parts)
