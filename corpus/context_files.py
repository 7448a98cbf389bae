"""Captions and knowledge texts from files, attached to samples before the student trains.

This lets the student be trained on existing captions (e.g. BLIP-2 lines) and knowledge
(e.g. JSONL written by an earlier LLM) before any teacher of ours has run. Every sample is
accounted for: the report counts what was attached, missing, or refused for token mismatch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cotpd.corpus.errors import DataFormatError, shorten
from cotpd.corpus.records import Sample
from cotpd.corpus.text_file import decode_lines

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
CAPTION_SEPARATOR = " :"


def normalise_image_id(image_id: str) -> str:
    """Drop a trailing image extension: MNRE ids carry `.jpg`, Twitter IMGIDs do not."""
    lowered = image_id.lower()
    for extension in IMAGE_EXTENSIONS:
        if lowered.endswith(extension) and len(image_id) > len(extension):
            return image_id[: -len(extension)]
    return image_id


@dataclass(frozen=True)
class KnowledgeRecord:
    """One knowledge text; `tokens` (when the file has them) guard against misalignment."""

    text: str
    tokens: list[str] | None
    line: int


@dataclass
class AttachReport:
    """What `attach_context` did. with + missing + mismatch = samples, for knowledge."""

    samples: int = 0
    with_caption: int = 0
    with_knowledge: int = 0
    missing_caption: int = 0
    missing_knowledge: int = 0
    token_mismatch: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _lines(path: Path) -> list[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers, decoded with file:line errors."""
    lines, _ = decode_lines(path, path.read_bytes())
    return [(number, line) for number, line in enumerate(lines, start=1) if line.strip()]


def _json_object(path: Path, number: int, line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as error:
        raise DataFormatError(path, number, f"invalid JSON ({error.msg}) in {shorten(line)}",
                              "one JSON object per line") from None
    if not isinstance(value, dict):
        raise DataFormatError(path, number, f"a JSON {type(value).__name__}",
                              "one JSON object per line")
    return value


def _string_field(path: Path, number: int, record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    if not isinstance(value, str):
        found = f"no field {name!r}" if name not in record else f"{name} = {value!r}"
        raise DataFormatError(path, number, found, f"a string field {name!r}")
    return value


def load_captions(path: str | Path) -> dict[str, str]:
    """Read `<imgid>.jpg :<caption>` lines or JSONL `{"img_id", "caption"}` objects.

    Keys are normalised image ids; an id given twice with different captions is an error.
    """
    path = Path(path)
    lines = _lines(path)
    is_jsonl = bool(lines) and lines[0][1].lstrip().startswith("{")
    captions: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for number, line in lines:
        if is_jsonl:
            record = _json_object(path, number, line)
            raw_id = _string_field(path, number, record, "img_id").strip()
            caption = _string_field(path, number, record, "caption").strip()
        else:
            raw_id, separator, caption = line.partition(CAPTION_SEPARATOR)
            raw_id, caption = raw_id.strip(), caption.strip()
            if not separator:
                raise DataFormatError(path, number, f"no ' :' separator in {shorten(line)}",
                                      "'<imgid>.jpg :<caption>'")
        if not raw_id:
            raise DataFormatError(path, number, "an empty image id", "a non-empty image id")
        key = normalise_image_id(raw_id)
        if key in captions and captions[key] != caption:
            raise DataFormatError(path, number, f"a second, different caption for {key!r} "
                                  f"(first at {path}:{first_line[key]}:)",
                                  "one caption per image")
        captions.setdefault(key, caption)
        first_line.setdefault(key, number)
    return captions


def _knowledge_record(path: Path, number: int, line: str) -> tuple[str, KnowledgeRecord]:
    record = _json_object(path, number, line)
    if "id" in record:
        key = _string_field(path, number, record, "id")
    elif "img_id" in record:
        key = normalise_image_id(_string_field(path, number, record, "img_id"))
    else:
        raise DataFormatError(path, number, "neither 'id' nor 'img_id'",
                              "a string field 'id' (sample id) or 'img_id' (image id)")
    if not key:
        raise DataFormatError(path, number, "an empty id", "a non-empty sample or image id")
    text = _string_field(path, number, record, "knowledge")
    tokens = record.get("tokens")
    if tokens is not None and not (
        isinstance(tokens, list) and all(isinstance(t, str) for t in tokens)
    ):
        raise DataFormatError(path, number, f"tokens = {shorten(repr(tokens))}",
                              "a list of strings (or no 'tokens' field)")
    return key, KnowledgeRecord(text=text, tokens=tokens, line=number)


def load_knowledge(path: str | Path) -> dict[str, KnowledgeRecord]:
    """Read knowledge JSONL keyed by `id`, else by normalised `img_id`; keys must be unique."""
    return load_knowledge_files([Path(path)])


def load_knowledge_files(paths: Iterable[str | Path]) -> dict[str, KnowledgeRecord]:
    """Merge several knowledge files (e.g. one per split); a key seen twice is an error."""
    knowledge: dict[str, KnowledgeRecord] = {}
    origin: dict[str, Path] = {}
    for path in map(Path, paths):
        for number, line in _lines(path):
            key, record = _knowledge_record(path, number, line)
            if key in knowledge:
                first = f"{origin[key]}:{knowledge[key].line}:"
                raise DataFormatError(path, number, f"knowledge for {key!r} again "
                                      f"(first at {first})", "one knowledge record per key")
            knowledge[key] = record
            origin[key] = path
    return knowledge


def _lookup(sample: Sample, table: dict[str, Any]) -> Any:
    """By sample id first, then by normalised image id."""
    if sample.id in table:
        return table[sample.id]
    if sample.image_id is not None:
        return table.get(normalise_image_id(sample.image_id))
    return None


def attach_context(
    samples: Iterable[Sample],
    captions: dict[str, str] | None,
    knowledge: dict[str, KnowledgeRecord] | None,
) -> AttachReport:
    """Set `context.caption` / `context.knowledge` in place and count what could not be set.

    A source given as None is not counted as missing. A knowledge record whose tokens differ
    from the sample's is not attached and counts as `token_mismatch`, not as missing.
    """
    report = AttachReport()
    for sample in samples:
        report.samples += 1
        if captions is not None:
            caption = _lookup(sample, captions)
            if caption is None:
                report.missing_caption += 1
            else:
                sample.context.caption = caption
                report.with_caption += 1
        if knowledge is not None:
            record = _lookup(sample, knowledge)
            if record is None:
                report.missing_knowledge += 1
            elif record.tokens is not None and record.tokens != sample.tokens:
                report.token_mismatch += 1
            else:
                sample.context.knowledge = record.text
                report.with_knowledge += 1
    return report
