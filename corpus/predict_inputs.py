"""What `cotpd predict` reads: plain text lines, CoNLL (with or without labels) or JSONL with
`tokens`, each sentence named by file and line so that a bad one can be reported or skipped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cotpd.corpus.bio import is_bio_label
from cotpd.corpus.conll import IMGID_PREFIX, read_conll
from cotpd.corpus.errors import CotpdError, DataFormatError, shorten
from cotpd.corpus.text_file import decode_lines
from cotpd.corpus.words import WordStyle, split_words

InputFormat = Literal["text", "conll", "jsonl", "mnre"]
INPUT_FORMATS: tuple[str, ...] = ("auto", "text", "conll", "jsonl", "mnre")


class BadInputError(CotpdError):
    """An input sentence that cannot be predicted (empty, or not words)."""


@dataclass(frozen=True)
class BadInput:
    where: str  # "FILE:LINE", "--text 2", "text 3"
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


@dataclass
class InputItem:
    where: str
    id: str
    words: list[str]
    labels: list[str] | None = None
    problem: str | None = None  # set for a bad item: it is reported or skipped, never read


def word_problem(words: Sequence[str]) -> str | None:
    """Why a list of words cannot be predicted, or None."""
    if not words:
        return "no words (an empty text)"
    for number, word in enumerate(words, start=1):
        if not isinstance(word, str) or not word.strip():
            return f"word {number} is empty"
        if any(c in word for c in "\t\n\r"):
            return f"word {number} {shorten(word)} holds a tab or a line break"
    return None


def detect_format(path: Path) -> InputFormat:
    """By extension (.jsonl/.json, .conll), else by the first non-blank line: IMGID or a tab
    means CoNLL, `{` means JSON lines (MNRE lines for a relation student), else plain text."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        return "jsonl"
    if suffix == ".conll":
        return "conll"
    with open(path, "rb") as handle:
        for raw in handle:
            line = raw.decode("utf-8", errors="replace").strip()
            if line:
                if line.startswith(IMGID_PREFIX) or "\t" in line:
                    return "conll"
                return "jsonl" if line.startswith("{") else "text"
    raise CotpdError(f"{path}: empty file; expected sentences to predict")


def read_text_lines(path: Path, style: WordStyle) -> list[InputItem]:
    """One sentence per line, split into words as the training data is tokenized."""
    lines, _ = decode_lines(path, path.read_bytes())
    items = []
    for number, line in enumerate(lines, start=1):
        words = split_words(line, style)
        problem = ("an empty line" if not line.strip() else
                   None if words else "no words")
        items.append(InputItem(f"{path}:{number}", f"line{number}", words, problem=problem))
    return items


def read_jsonl_tokens(path: Path) -> list[InputItem]:
    """One JSON object per line with `tokens` (a list of words), and optionally `id` and
    `labels` (BIO, one per token)."""
    lines, _ = decode_lines(path, path.read_bytes())
    return [_json_item(path, number, line) for number, line in enumerate(lines, start=1)]


def _json_item(path: Path, number: int, line: str) -> InputItem:
    where, fallback_id = f"{path}:{number}", f"line{number}"
    if not line.strip():
        return InputItem(where, fallback_id, [], problem="an empty line")
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        return InputItem(where, fallback_id, [], problem=f"not JSON ({error.msg})")
    tokens = record.get("tokens") if isinstance(record, dict) else None
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        return InputItem(where, fallback_id, [],
                         problem='no "tokens" list of strings (expected {"tokens": [...]})')
    item = InputItem(where, str(record.get("id", fallback_id)), tokens,
                     problem=word_problem(tokens))
    labels = record.get("labels")
    if labels is not None and item.problem is None:
        if (not isinstance(labels, list) or len(labels) != len(tokens)
                or not all(isinstance(x, str) and is_bio_label(x) for x in labels)):
            item.problem = f'"labels" is not one BIO label per token ({len(tokens)} tokens)'
        else:
            item.labels = labels
    return item


def read_conll_input(path: Path) -> list[InputItem]:
    """CoNLL sentences: `token<TAB>label` lines (read strictly, as a dataset split) or bare
    `token` lines, with or without an `IMGID:<id>` line first, blank lines between."""
    lines, _ = decode_lines(path, path.read_bytes())
    if any("\t" in line for line in lines):
        return [InputItem(f"{path} ({IMGID_PREFIX}{s.id})", s.id, s.tokens, labels=s.labels)
                for s in read_conll(path).samples]
    items: list[InputItem] = []
    block: list[tuple[int, str]] = []
    for number, line in [*enumerate(lines, start=1), (len(lines) + 1, "")]:
        if line.strip():
            block.append((number, line))
            continue
        if line:
            raise DataFormatError(path, number, f"a line of only white space {line!r}",
                                  "an empty line between sentences")
        if block:
            items.append(_bare_block(path, block, len(items) + 1))
            block = []
    if not items:
        raise DataFormatError(path, None, "no sentences", "token lines, a blank line between "
                              "sentences")
    return items


def _bare_block(path: Path, block: list[tuple[int, str]], ordinal: int) -> InputItem:
    first_number, first = block[0]
    where = f"{path}:{first_number}"
    if first.startswith(IMGID_PREFIX):
        sentence_id = first[len(IMGID_PREFIX):].strip() or f"sentence{ordinal}"
        block = block[1:]
    else:
        sentence_id = f"sentence{ordinal}"
    for number, line in block:
        if line.startswith(IMGID_PREFIX):
            raise DataFormatError(path, number, f"{shorten(line)} inside a sentence",
                                  "a blank line before each new IMGID line")
    words = [line.strip() for _, line in block]
    problem = "an IMGID line with no token lines" if not words else word_problem(words)
    return InputItem(where, sentence_id, words, problem=problem)


def read_input(path: Path, kind: InputFormat, style: WordStyle) -> list[InputItem]:
    if kind == "text":
        return read_text_lines(path, style)
    if kind == "jsonl":
        return read_jsonl_tokens(path)
    if kind == "conll":
        return read_conll_input(path)
    raise CotpdError(f"{path}: MNRE lines go to a relation student, not an entity student")


def sort_out(items: list[InputItem], skip_bad: bool) -> tuple[list[InputItem], list[BadInput]]:
    """The items to predict and the bad ones skipped; without `skip_bad` the first bad item
    is an error naming its line."""
    bad = [BadInput(item.where, item.problem) for item in items if item.problem is not None]
    if bad and not skip_bad:
        raise BadInputError(f"{bad[0]}; fix it, or pass --skip-bad to leave such lines out "
                            f"({len(bad)} in all)")
    return [item for item in items if item.problem is None], bad
