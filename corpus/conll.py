"""Reader and writer for the CoNLL+IMGID family (Twitter-2015/2017, SNAP, WikiDiverse).

A sentence is an `IMGID:<id>` line, one `token<TAB>label` line per word, then a blank line.
The reader keeps the file's own label names (Twitter-2015 says OTHER where Twitter-2017 says
MISC) and reports label problems it finds instead of fixing them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cotpd.corpus.bio import is_bio_label, label_type, orphan_inside_positions
from cotpd.corpus.errors import DataFormatError, shorten
from cotpd.corpus.files import atomic_write_bytes
from cotpd.corpus.fingerprint import sha256_bytes
from cotpd.corpus.records import MnerSample
from cotpd.corpus.text_file import decode_lines

IMGID_PREFIX = "IMGID:"


@dataclass(frozen=True)
class LabelProblem:
    """A problem counted and reported, not fatal: the data is kept as the file says."""

    path: str
    line: int
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind}: {self.detail}"


@dataclass
class ReadResult:
    """What a reader returns: the samples, the file's fingerprint and the problems seen."""

    path: str
    sha256: str
    samples: list
    problems: list[LabelProblem] = field(default_factory=list)
    newline: str = "\n"


def read_conll(path: str | Path, entity_types: Collection[str] | None = None) -> ReadResult:
    """Read one split. `entity_types`, when given, is the dataset's label set: any other
    type is an error (labels of another dataset)."""
    path = Path(path)
    raw = path.read_bytes()
    lines, newline = decode_lines(path, raw)
    samples: list[MnerSample] = []
    problems: list[LabelProblem] = []
    seen_ids: dict[str, int] = {}
    block: list[tuple[int, str]] = []

    def close_block() -> None:
        if block:
            samples.append(_parse_sentence(path, block, entity_types, seen_ids, problems))
            block.clear()

    previous_blank = False
    for number, line in enumerate(lines, start=1):
        if line.strip() == "":
            if line:
                raise DataFormatError(path, number, f"a line of only white space {line!r}",
                                      "an empty line between sentences")
            if previous_blank and samples:
                problems.append(LabelProblem(str(path), number, "extra blank line",
                                             "more than one blank line between sentences"))
            close_block()
            previous_blank = True
            continue
        previous_blank = False
        block.append((number, line))
    close_block()
    if not samples:
        raise DataFormatError(path, None, "no sentences (an empty split)",
                              "at least one 'IMGID:<id>' line followed by 'token<TAB>label' lines")
    return ReadResult(str(path), sha256_bytes(raw), samples, problems, newline)


def _parse_sentence(
    path: Path,
    block: list[tuple[int, str]],
    entity_types: Collection[str] | None,
    seen_ids: dict[str, int],
    problems: list[LabelProblem],
) -> MnerSample:
    first_number, first = block[0]
    if not first.startswith(IMGID_PREFIX):
        raise DataFormatError(path, first_number, f"{shorten(first)} at the start of a sentence",
                              "an 'IMGID:<id>' line before each sentence's tokens")
    image_id = first[len(IMGID_PREFIX):].strip()
    if not image_id:
        raise DataFormatError(path, first_number, "an IMGID line with no id", "'IMGID:<id>'")
    if image_id in seen_ids:
        raise DataFormatError(path, first_number, f"IMGID {image_id!r} again",
                              f"a unique id per sentence (first seen at line {seen_ids[image_id]})")
    seen_ids[image_id] = first_number
    if len(block) == 1:
        raise DataFormatError(path, first_number, f"IMGID {image_id!r} with no token lines",
                              "'token<TAB>label' lines after the IMGID line")
    tokens, labels = [], []
    for number, line in block[1:]:
        token, label = _split_token_line(path, number, line)
        if not is_bio_label(label):
            raise DataFormatError(path, number, f"label {label!r}",
                                  "O, or B-<TYPE> / I-<TYPE> (BIO)")
        kind = label_type(label)
        if entity_types is not None and kind is not None and kind not in entity_types:
            raise DataFormatError(path, number, f"entity type {kind!r} in {label!r}",
                                  f"one of this dataset's types: {', '.join(sorted(entity_types))}")
        tokens.append(token)
        labels.append(label)
    for position in orphan_inside_positions(labels):
        number = block[1 + position][0]
        before = labels[position - 1] if position else "the sentence start"
        problems.append(LabelProblem(str(path), number, "I- with no entity before it",
                                     f"{labels[position]} after {before}"))
    return MnerSample(id=image_id, tokens=tokens, labels=labels, image_id=image_id)


def _split_token_line(path: Path, number: int, line: str) -> tuple[str, str]:
    if line.startswith(IMGID_PREFIX):
        raise DataFormatError(path, number, f"{shorten(line)} inside a sentence",
                              "a blank line before each new IMGID line")
    parts = line.split("\t")
    if len(parts) == 1:
        raise DataFormatError(path, number, f"a token line without a tab: {shorten(line)}",
                              "'token<TAB>label'")
    if len(parts) > 2:
        raise DataFormatError(path, number, f"{len(parts) - 1} tabs in {shorten(line)}",
                              "exactly one tab: 'token<TAB>label' (a token may not hold a tab)")
    token, label = parts
    if not token:
        raise DataFormatError(path, number, f"an empty token in {shorten(line)}",
                              "'token<TAB>label' with a non-empty token")
    return token, label


def format_conll(samples: Iterable[MnerSample], newline: str = "\n") -> str:
    """The file text for `samples`; `read_conll` then `format_conll` gives the same bytes."""
    parts = []
    for sample in samples:
        parts.append(f"{IMGID_PREFIX}{sample.image_id or sample.id}{newline}")
        parts.extend(f"{t}\t{lab}{newline}" for t, lab in zip(sample.tokens, sample.labels,
                                                               strict=True))
        parts.append(newline)
    return "".join(parts)


def write_conll(path: str | Path, samples: Iterable[MnerSample], newline: str = "\n") -> None:
    atomic_write_bytes(path, format_conll(samples, newline).encode("utf-8"))
