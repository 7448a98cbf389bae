"""The prompt catalogue: versioned templates as data, rendered with LlamaIndex PromptTemplate.

Per-teacher override files are merged over the default catalogue prompt by prompt (a base
model may need other few-shot examples; a chat model other wording). Every prompt has a hash
of everything that shapes its text, so the store recomputes exactly what changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from cotpd.corpus.errors import CotpdError

if TYPE_CHECKING:
    from llama_index.core import PromptTemplate

DEFAULT_CATALOGUE = Path(__file__).parent / "prompts" / "default.yaml"
Style = Literal["completion", "chat"]


@dataclass(frozen=True)
class CatalogPrompt:
    id: str
    version: int
    kind: str
    chat: str
    completion: dict[str, Any]

    def version_hash(self, style: Style) -> str:
        """Hash of the text that shapes this prompt in `style` (12 hex digits)."""
        shape = {"id": self.id, "version": self.version, "style": style,
                 "template": self.chat if style == "chat" else self.completion}
        text = json.dumps(shape, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]

    def render(self, style: Style, **values: str) -> str:
        """The prompt text for one sample."""
        # Imported here: reading the catalogue (the config check does) stays fast.
        from llama_index.core import PromptTemplate

        if style == "chat":
            return _fill(self.id, PromptTemplate(self.chat), values)
        example = PromptTemplate(self.completion["example"])
        shots = "".join(_fill(self.id, example, shot)
                        for shot in self.completion.get("examples", []))
        return _fill(self.id, PromptTemplate(self.completion["template"]),
                     {"examples": shots, **values})

    def stop(self, style: Style) -> tuple[str, ...]:
        return tuple(self.completion.get("stop", [])) if style == "completion" else ()

    def max_tokens(self, default: int) -> int:
        return int(self.completion.get("max_tokens", default))


def _fill(prompt_id: str, template: PromptTemplate, values: dict[str, str]) -> str:
    # LlamaIndex leaves unknown placeholders in place; a prompt with a hole is an error here.
    missing = [v for v in template.template_vars if v not in values]
    if missing:
        raise CotpdError(f"prompt {prompt_id!r}: the template needs {', '.join(missing)}, "
                         "which this sample does not provide")
    return template.format(**values)


def load_catalogue(overrides: Sequence[str | Path] = ()) -> dict[str, CatalogPrompt]:
    """The default catalogue with each override file merged over it, prompt by prompt."""
    merged: dict[str, dict[str, Any]] = _read(DEFAULT_CATALOGUE)
    for path in overrides:
        for prompt_id, fields in _read(Path(path)).items():
            merged[prompt_id] = {**merged.get(prompt_id, {}), **fields}
    catalogue = {}
    for prompt_id, fields in merged.items():
        missing = {"version", "chat", "completion"} - set(fields)
        if missing:
            raise CotpdError(f"prompt {prompt_id!r}: missing {', '.join(sorted(missing))}")
        catalogue[prompt_id] = CatalogPrompt(id=prompt_id, version=fields["version"],
                                             kind=fields.get("kind", "explain"),
                                             chat=fields["chat"], completion=fields["completion"])
    return catalogue


def _read(path: Path) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        raise CotpdError(f"prompt file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise CotpdError(f"{where}: not a valid YAML prompt file "
                         f"({getattr(error, 'problem', None) or error})") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise CotpdError(f"{path}: expected a mapping of prompt id -> fields")
    for prompt_id, fields in data.items():
        if "version" in fields and type(fields["version"]) is not int:
            raise CotpdError(f"{path}: prompt {prompt_id!r}: version {fields['version']!r}; "
                             "expected an integer")
    return data
