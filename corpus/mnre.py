"""Reader and writer for the MNRE line format: one Python dict literal per line,
`{'token': [...], 'h': {'name': ..., 'pos': [start, end]}, 't': {...}, 'img_id': ...,
'relation': ...}`. The lines are `repr()` of a dict, so writing is `repr()` again."""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from cotpd.corpus.conll import LabelProblem, ReadResult
from cotpd.corpus.errors import DataFormatError, shorten
from cotpd.corpus.files import atomic_write_bytes
from cotpd.corpus.fingerprint import sha256_bytes
from cotpd.corpus.records import Mention, MreSample
from cotpd.corpus.text_file import decode_lines

KEYS = ("token", "h", "t", "img_id", "relation")
EXAMPLE = "{'token': [...], 'h': {'name': str, 'pos': [start, end]}, 't': {...}, " \
          "'img_id': str, 'relation': str}"


def read_mnre(path: str | Path, relations: Collection[str] | None = None) -> ReadResult:
    """Read one split; `relations`, when given, is the label set every line must use."""
    path = Path(path)
    raw = path.read_bytes()
    lines, newline = decode_lines(path, raw)
    samples: list[MreSample] = []
    problems: list[LabelProblem] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            problems.append(LabelProblem(str(path), number, "blank line", "skipped"))
            continue
        record = _parse_line(path, number, line)
        samples.append(_to_sample(path, number, record, relations, index=len(samples)))
    if not samples:
        raise DataFormatError(path, None, "no instances (an empty split)", f"lines like {EXAMPLE}")
    return ReadResult(str(path), sha256_bytes(raw), samples, problems, newline)


def _parse_line(path: Path, number: int, line: str) -> dict[str, Any]:
    try:
        tree = ast.parse(line.strip(), mode="eval")
        duplicate = _duplicate_key(tree.body)
        record = ast.literal_eval(tree.body)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise DataFormatError(path, number, f"text that is not a Python literal: {shorten(line)}",
                              f"a dict literal {EXAMPLE}") from None
    if duplicate is not None:  # a dict literal keeps the last value silently
        raise DataFormatError(path, number, f"the key {duplicate!r} twice",
                              "each key once per dict")
    if not isinstance(record, dict):
        raise DataFormatError(path, number, f"a {type(record).__name__}", f"a dict {EXAMPLE}")
    missing = [key for key in KEYS if key not in record]
    extra = [key for key in record if key not in KEYS]
    if missing or extra:
        found = ", ".join([f"missing {k!r}" for k in missing] + [f"unknown {k!r}" for k in extra])
        raise DataFormatError(path, number, found, f"exactly the keys {', '.join(KEYS)}")
    return record


def _duplicate_key(node: ast.AST) -> Any:
    """The first key written twice in a dict literal, the nested ones included; else None."""
    for child in ast.walk(node):
        if isinstance(child, ast.Dict):
            seen = set()
            for key in child.keys:
                if isinstance(key, ast.Constant):
                    if key.value in seen:
                        return key.value
                    seen.add(key.value)
    return None


def _to_sample(
    path: Path, number: int, record: dict[str, Any], relations: Collection[str] | None, index: int
) -> MreSample:
    tokens = record["token"]
    if not (isinstance(tokens, list) and tokens and all(isinstance(t, str) and t for t in tokens)):
        raise DataFormatError(path, number, f"'token': {shorten(repr(tokens))}",
                              "a non-empty list of non-empty strings")
    head = _mention(path, number, "h", record["h"], tokens)
    tail = _mention(path, number, "t", record["t"], tokens)
    relation = record["relation"]
    if not isinstance(relation, str) or (relations is not None and relation not in relations):
        raise DataFormatError(path, number, f"relation {relation!r}",
                              f"one of the dataset's {len(relations or ())} relations"
                              if relations is not None else "a string")
    image_id = record["img_id"]
    if not isinstance(image_id, str) or not image_id:
        raise DataFormatError(path, number, f"img_id {image_id!r}", "a non-empty string")
    return MreSample(id=f"{path.stem.strip()}-{index:06d}", tokens=list(tokens), head=head,
                     tail=tail, relation=relation, image_id=image_id)


def _mention(path: Path, number: int, key: str, value: Any, tokens: list[str]) -> Mention:
    shape = "{'name': str, 'pos': [start, end]}"
    if not isinstance(value, dict) or set(value) != {"name", "pos"}:
        raise DataFormatError(path, number, f"{key!r}: {shorten(repr(value))}", shape)
    pos, name = value["pos"], value["name"]
    if not (isinstance(pos, list) and len(pos) == 2 and all(type(p) is int for p in pos)):
        raise DataFormatError(path, number, f"{key!r} pos {pos!r}", "[start, end] integers")
    start, end = pos
    if not 0 <= start < end <= len(tokens):
        raise DataFormatError(path, number, f"{key!r} span [{start}, {end}) out of range",
                              f"0 <= start < end <= {len(tokens)} (the number of tokens)")
    surface = " ".join(tokens[start:end])
    if name != surface:
        raise DataFormatError(path, number, f"{key!r} name {name!r} but tokens {surface!r}",
                              "the name to equal the tokens of its span joined by spaces")
    return Mention(name=name, start=start, end=end)


def format_mnre_line(sample: MreSample) -> str:
    record = {
        "token": sample.tokens,
        "h": {"name": sample.head.name, "pos": [sample.head.start, sample.head.end]},
        "t": {"name": sample.tail.name, "pos": [sample.tail.start, sample.tail.end]},
        "img_id": sample.image_id,
        "relation": sample.relation,
    }
    return repr(record)


def format_mnre(samples: Iterable[MreSample], newline: str = "\n") -> str:
    """The file text for `samples`; `read_mnre` then `format_mnre` gives the same bytes."""
    return "".join(format_mnre_line(sample) + newline for sample in samples)


def write_mnre(path: str | Path, samples: Iterable[MreSample], newline: str = "\n") -> None:
    atomic_write_bytes(path, format_mnre(samples, newline).encode("utf-8"))
