"""Input views of a sample, as sub-word ids with the position of each word's first sub-word.

text view       [CLS] x [SEP]
caption view    [CLS] x [SEP] caption [SEP]
knowledge view  [CLS] x [SEP] caption [SEP] knowledge [SEP]   (order configurable)
prompt view     the text view; the model inserts the prompt p after [CLS]

Truncation drops knowledge first, then the caption, never the text (unless the text alone is
longer than the budget, which is counted separately). For MRE the head and tail are marked
with marker tokens (`student.mre.markers`), whose positions the relation head reads.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from cotpd.corpus.records import Sample
from cotpd.student.config import MarkerStyle, StudentConfig, View, ViewConfig
from cotpd.student.tasks import MARKERS, student_task_of
from transformers import PreTrainedTokenizerBase

__all__ = ["MARKERS", "EncodedView", "ViewBuilder"]


@dataclass
class EncodedView:
    input_ids: list[int]
    word_starts: list[int]  # index of each word's first sub-word (words only, no markers)
    markers: tuple[int, int] | None = None  # positions of <h> and <t> (MRE)
    text_end: int = 0  # position of the [SEP] that closes the text


@dataclass
class ViewBuilder:
    """Encodes samples into views and counts every truncation."""

    tokenizer: PreTrainedTokenizerBase
    config: ViewConfig
    counts: Counter[str] = field(default_factory=Counter)
    markers: MarkerStyle = "start_end"  # which MRE markers go in (student.mre.markers)

    @classmethod
    def for_student(cls, tokenizer: PreTrainedTokenizerBase, config: StudentConfig
                    ) -> ViewBuilder:
        """The builder of a student's views: its view settings and its MRE markers."""
        return cls(tokenizer, config.views, markers=config.mre.markers)

    def __post_init__(self) -> None:
        self.cls_id = self.tokenizer.cls_token_id
        self.sep_id = self.tokenizer.sep_token_id
        if self.cls_id is None or self.sep_id is None:
            raise ValueError("the encoder's tokenizer needs a cls and a sep token")
        sep_text = self.config.separator
        self.separator_ids = ([self.sep_id] if sep_text is None else
                              self.tokenizer(sep_text, add_special_tokens=False)["input_ids"])

    def encode(self, sample: Sample, view: View) -> EncodedView:
        return self.encode_all([sample], view)[0]

    def encode_all(self, samples: list[Sample], view: View) -> list[EncodedView]:
        """Encode many samples; words and context texts go through the tokenizer in one call
        each, which is what makes batched prediction fast."""
        marked = [student_task_of(sample).words(sample, self.markers) for sample in samples]
        flat = [word for words, _ in marked for word in words]
        flat_pieces = self.tokenizer(flat, add_special_tokens=False)["input_ids"] if flat else []
        contexts = self._context_pieces(samples, view)
        encoded, cursor = [], 0
        for index, (sample, (words, flags)) in enumerate(zip(samples, marked, strict=True)):
            pieces = flat_pieces[cursor:cursor + len(words)]
            cursor += len(words)
            parts = {name: table[index] for name, table in contexts.items()
                     if table[index] is not None}
            encoded.append(self._assemble(sample, view, words, flags, pieces, parts))
        return encoded

    def _context_pieces(self, samples: list[Sample], view: View) -> dict[str, list]:
        if view in ("text", "prompt"):
            return {}
        wanted = ["caption"] if view == "caption" else list(self.config.context_order)
        tables: dict[str, list] = {}
        for name in wanted:
            texts = [getattr(sample.context, name) for sample in samples]
            present = [t for t in texts if t is not None]
            self.counts[f"missing_{name}"] += len(texts) - len(present)
            ids = iter(self.tokenizer(present, add_special_tokens=False)["input_ids"]
                       if present else [])
            tables[name] = [next(ids) if t is not None else None for t in texts]
        return tables

    def _assemble(self, sample: Sample, view: View, words: list[str], flags: list[bool],
                  pieces: list[list[int]], parts: dict[str, list[int]]) -> EncodedView:
        unk = self.tokenizer.unk_token_id
        pieces = [p or [unk] for p in pieces]  # a word that tokenizes to nothing stays aligned
        budget = self.config.max_length - 2
        if sum(len(p) for p in pieces) > budget:
            self.counts["text_truncated"] += 1
            pieces, words, flags = _cut_words(pieces, words, flags, budget)
        ids = [self.cls_id]
        starts: list[int] = []
        marker_positions: list[int] = []
        for piece, word, is_word in zip(pieces, words, flags, strict=True):
            if is_word:
                starts.append(len(ids))
            elif word in ("<h>", "<t>"):
                marker_positions.append(len(ids))
            ids.extend(piece)
        text_end = len(ids)
        ids.append(self.sep_id)
        ids.extend(self._fit_context(view, parts, self.config.max_length - len(ids)))
        self.counts[f"view_{view}"] += 1
        markers = (marker_positions[0], marker_positions[1]) if len(marker_positions) == 2 else None
        if markers is None and student_task_of(sample).needs_markers:
            raise ValueError(f"sample {sample.id}: head or tail marker truncated away")
        return EncodedView(ids, starts, markers, text_end)

    def _fit_context(self, view: View, parts: dict[str, list[int]], room: int) -> list[int]:
        wanted = ["caption"] if view == "caption" else list(self.config.context_order)
        parts = dict(parts)
        # Knowledge gives way first, then the caption; the text was placed already.
        for name in ("knowledge", "caption"):
            if name not in parts:
                continue
            overflow = sum(len(p) + len(self.separator_ids) for p in parts.values()) - room
            if overflow <= 0:
                break
            self.counts[f"{name}_truncated"] += 1
            keep = len(parts[name]) - overflow
            if keep <= 0:
                del parts[name]
            else:
                parts[name] = parts[name][:keep]
        ids: list[int] = []
        for name in wanted:
            if name in parts:
                ids.extend(parts[name] + self.separator_ids)
        return ids


def _cut_words(pieces: list[list[int]], words: list[str], flags: list[bool],
               budget: int) -> tuple[list[list[int]], list[str], list[bool]]:
    total = 0
    for index, piece in enumerate(pieces):
        if total + len(piece) > budget:
            return pieces[:index], words[:index], flags[:index]
        total += len(piece)
    return pieces, words, flags
