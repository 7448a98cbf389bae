"""Sentences with no gold labels, for distillation by KL alone.

A `.jsonl` file has one JSON object per line: either `{"tokens": [...], "knowledge": "...",
"caption": "..."}` (`id`, `image_id`, `caption` and `knowledge` optional), or a sample record
as the data and augment stages write them (`"task": "mner"`), whose labels are then not used.
Any other file is plain text, one sentence per line, split into words at whitespace.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from cotpd.corpus.context_files import _json_object, _lines
from cotpd.corpus.errors import DataFormatError
from cotpd.corpus.records import MnerSample, Sample, SampleContext, sample_from_dict
from cotpd.corpus.tasks import TASKS

EXPECTED = ('one JSON object per line with "tokens" (a list of non-empty strings) and '
            'optional "knowledge", "caption", "id", "image_id" strings, or an MNER sample record')


def _optional_string(path: Path, number: int, record: dict, name: str) -> str | None:
    value = record.get(name)
    if value is not None and not isinstance(value, str):
        raise DataFormatError(path, number, f"{name} = {value!r}", EXPECTED)
    return value


def _record(path: Path, number: int, record: dict) -> Sample:
    if "task" in record:
        name = record["task"]
        task = TASKS.get(name) if isinstance(name, str) else None
        if task is None or not task.allows_unlabelled:
            raise DataFormatError(path, number, f"a {name!r} sample", EXPECTED)
        try:
            return sample_from_dict(record)
        except (KeyError, TypeError) as error:
            raise DataFormatError(path, number, f"an unreadable sample ({error})",
                                  EXPECTED) from None
    tokens = record.get("tokens")
    if (not isinstance(tokens, list) or not tokens
            or not all(isinstance(t, str) and t.strip() for t in tokens)):
        raise DataFormatError(path, number, f"tokens = {tokens!r}", EXPECTED)
    context = SampleContext(caption=_optional_string(path, number, record, "caption"),
                            knowledge=_optional_string(path, number, record, "knowledge"))
    sample_id = _optional_string(path, number, record, "id") or f"{path.name}:{number}"
    return MnerSample(id=sample_id, tokens=list(tokens), labels=["O"] * len(tokens),
                      image_id=_optional_string(path, number, record, "image_id"),
                      context=context)


def is_jsonl(path: Path) -> bool:
    """JSONL by its suffix; anything else is read as plain text."""
    return path.suffix.lower() in (".jsonl", ".json")


def read_unlabelled(paths: Iterable[str | Path]) -> list[Sample]:
    """Every sentence of the files, in order; a bad line names its file and line. Blank
    lines are skipped (they hold no sentence)."""
    samples: list[Sample] = []
    for path in map(Path, paths):
        if not path.is_file():
            raise DataFormatError(path, None, "no such file",
                                  "an unlabelled-sentences file (JSONL or plain text)")
        for number, line in _lines(path):
            if is_jsonl(path):
                samples.append(_record(path, number, _json_object(path, number, line)))
            else:
                tokens = line.split()
                samples.append(MnerSample(id=f"{path.name}:{number}", tokens=tokens,
                                          labels=["O"] * len(tokens), image_id=None))
    return samples


def distinct_sentences(samples: Iterable[Sample]) -> tuple[list[list[str]], int]:
    """Each sentence of `samples` once, in order of first appearance, and how many samples
    repeated an earlier sentence (an MNRE tweet with three entity pairs counts twice)."""
    seen: set[str] = set()
    sentences: list[list[str]] = []
    repeats = 0
    for sample in samples:
        key = sentence_key(sample.tokens)
        if key in seen:
            repeats += 1
            continue
        seen.add(key)
        sentences.append(list(sample.tokens))
    return sentences, repeats


def sentence_key(tokens: Iterable[str]) -> str:
    """A key under which the same sentence tokenized two ways compares equal: the words
    joined without spaces, case-folded (so `RT @nba :` and `RT @nba:` are one sentence)."""
    return "".join(tokens).casefold()
