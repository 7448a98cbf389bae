"""The task registry, corpus side: what each task's samples are and how its files, labels
and statistics work. Other packages keep their own per-task parts (student/tasks.py,
eval/tasks.py, augment/tasks.py), registered under the same names.

A sample names its task (`sample.task`), so `task_of(sample)` needs no type test; the
functions below that take one task's sample type are only ever called with that type.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from cotpd.corpus.bio import bio_spans, label_type
from cotpd.corpus.conll import ReadResult, read_conll, write_conll
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.mnre import read_mnre, write_mnre
from cotpd.corpus.records import MnerSample, MreSample, Sample

T = TypeVar("T")


@dataclass(frozen=True)
class CorpusTask:
    """One task's corpus parts. A sample's `target` is what a model predicts for it (MNER:
    its word labels; MRE: its relation), so scoring and prediction files need no task test."""

    name: str
    sample_type: type
    format: str  # the file format of its datasets (corpus/datasets.yaml `format`)
    suffix: str  # file suffix of prediction files in that format
    read: Callable[[Path, Collection[str] | None], ReadResult]
    write: Callable[[Path, Sequence[Any]], None]
    target_field: str  # the sample field a prediction fills: what scoring compares
    # Labels a sample adds to the split statistics: entity types, or its relation.
    sample_labels: Callable[[Any], list[str]]
    # The label list a student predicts, from the registered labels and the training data.
    label_list: Callable[[Sequence[str] | None, Sequence[Sample]], list[str]]
    # `data stats` wording: what a sample is, what its label rows count.
    count_unit: str
    label_row: str
    labels_total: bool  # a row summing the label counts (entities; relations sum to count)
    label_set_noun: str | None  # shown with the size of a registered label set; None: not
    # A copy without gold labels, for distillation by KL alone; None: the task has no
    # unlabelled samples (an MRE instance without a relation is no instance).
    strip_labels: Callable[[Any], Sample] | None = None
    # Values a teacher prompt may name beyond {text}, {caption}, {knowledge}: MRE's {head}
    # and {tail}; a prompt that needs one the task lacks is refused when the config loads.
    prompt_values: Callable[[Any], dict[str, str]] = lambda sample: {}
    prompt_fields: tuple[str, ...] = ()
    # Whether several samples can share one sentence (MRE: one instance per entity pair), so
    # a labelled subset is drawn whole sentences at a time and teaching it costs fewer asks.
    samples_share_sentences: bool = False

    @property
    def allows_unlabelled(self) -> bool:
        return self.strip_labels is not None

    def target(self, sample: Sample) -> Any:
        """What a model predicts for `sample`: MNER word labels, an MRE relation."""
        return getattr(sample, self.target_field)

    def with_target(self, sample: Sample, target: Any) -> Sample:
        """A copy of `sample` whose gold is `target` (a prediction, to write as a file)."""
        written = copy.copy(sample)
        setattr(written, self.target_field, target)
        return written


# -- MNER ------------------------------------------------------------------------------------
def _mner_read(path: Path, labels: Collection[str] | None) -> ReadResult:
    return read_conll(path, entity_types=labels)


def _mner_label_list(registered: Sequence[str] | None, train: Sequence[Sample]) -> list[str]:
    """BIO tags over the registered entity types, then types seen only in the data, sorted."""
    types = list(registered or [])
    seen = {label_type(lab) for s in train for lab in getattr(s, "labels", ())}
    types += sorted(t for t in seen if t is not None and t not in types)
    return ["O"] + [f"{prefix}-{t}" for t in types for prefix in ("B", "I")]


def _mner_strip_labels(sample: MnerSample) -> MnerSample:
    unlabelled = copy.deepcopy(sample)
    unlabelled.labels = ["O"] * len(sample.tokens)
    return unlabelled


MNER = CorpusTask(
    name="mner", sample_type=MnerSample, format="conll", suffix="conll",
    read=_mner_read, write=write_conll,
    target_field="labels",
    sample_labels=lambda sample: [span.type for span in bio_spans(sample.labels)],
    label_list=_mner_label_list,
    count_unit="sentences", label_row="entities", labels_total=True, label_set_noun=None,
    strip_labels=_mner_strip_labels,
)


# -- MRE -------------------------------------------------------------------------------------
def _mre_read(path: Path, labels: Collection[str] | None) -> ReadResult:
    return read_mnre(path, relations=labels)


def _mre_label_list(registered: Sequence[str] | None, train: Sequence[Sample]) -> list[str]:
    """The registered relations in registry order, then relations seen only in the data."""
    relations = list(registered or [])
    seen = {getattr(s, "relation", None) for s in train} - {None}
    return relations + sorted(r for r in seen if r not in relations)


MRE = CorpusTask(
    name="mre", sample_type=MreSample, format="mnre", suffix="txt",
    read=_mre_read, write=write_mnre,
    target_field="relation",
    sample_labels=lambda sample: [sample.relation],
    label_list=_mre_label_list,
    count_unit="instances", label_row="relation", labels_total=False,
    label_set_noun="relations",
    prompt_values=lambda sample: {"head": sample.head.name, "tail": sample.tail.name},
    prompt_fields=("head", "tail"),
    samples_share_sentences=True,
)


# -- the registry ----------------------------------------------------------------------------
TASKS: dict[str, CorpusTask] = {t.name: t for t in (MNER, MRE)}


def task_names() -> list[str]:
    return list(TASKS)


def get_task(name: str) -> CorpusTask:
    """The task registered as `name`; an unknown name is an error naming the closest one."""
    return lookup(TASKS, name)


def task_of(sample: Sample) -> CorpusTask:
    return get_task(sample.task)


def task_for_format(file_format: str) -> CorpusTask:
    """The task whose datasets use `file_format` (conll, mnre)."""
    for task in TASKS.values():
        if task.format == file_format:
            return task
    raise CotpdError(f"no task reads {file_format!r} files (known formats: "
                     f"{', '.join(t.format for t in TASKS.values())})")


def lookup(registry: dict[str, T], name: str) -> T:
    """`registry[name]`, or an error with the closest registered name and all of them; each
    package's task registry looks names up through this."""
    if name in registry:
        return registry[name]
    close = difflib.get_close_matches(name, registry, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise CotpdError(f"unknown task {name!r}{hint} (known: {', '.join(sorted(registry))})")


def count_labels(samples: Iterable[Sample]) -> dict[str, int]:
    """How many times each label occurs over `samples` (entities per type, instances per
    relation)."""
    counts: dict[str, int] = {}
    for sample in samples:
        for label in task_of(sample).sample_labels(sample):
            counts[label] = counts.get(label, 0) + 1
    return counts
