"""Sub-word lengths of samples as a student encodes them (the text view: [CLS], the words
with any task markers, [SEP]), for choosing `student.views.max_length` from the data."""

from __future__ import annotations

from collections.abc import Sequence

from cotpd.corpus.embedded_models import resolve_model_path
from cotpd.corpus.model_folder import load_tokenizer
from cotpd.corpus.records import Sample
from cotpd.student.config import MarkerStyle, ViewConfig
from cotpd.student.tasks import student_task
from cotpd.student.views import ViewBuilder

UNLIMITED = 10**9  # no truncation: the lengths are what a budget would have to hold


def subword_lengths(samples: Sequence[Sample], encoder: str, trust_remote_code: bool = False,
                    markers: MarkerStyle = "start_end") -> list[int]:
    """Sub-words per sample's text view with `encoder`'s tokenizer (a folder or
    embedded:minilm), special tokens and MRE markers included."""
    path = resolve_model_path(encoder, "--encoder")
    tokenizer = load_tokenizer(path, trust_remote_code, None, "--encoder")
    for task in sorted({sample.task for sample in samples}):
        student_task(task).prepare_tokenizer(tokenizer)
    builder = ViewBuilder(tokenizer, ViewConfig(max_length=UNLIMITED), markers=markers)
    return [len(view.input_ids) for view in builder.encode_all(list(samples), "text")]
