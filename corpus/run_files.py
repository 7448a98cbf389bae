"""The run directory as a contract: every file a stage writes or reads in `<run>/` is named
here once, with the readers for what one stage hands the next (captions, knowledge,
augmented samples). It sits below the stages, so the student reads the teacher's files
without importing the teacher; nobody spells a run path by hand."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cotpd.corpus.context_files import (
    attach_context,
    load_captions,
    load_knowledge_files,
    normalise_image_id,
)
from cotpd.corpus.errors import CotpdError, DataFormatError, shorten
from cotpd.corpus.files import read_samples_jsonl
from cotpd.corpus.lock import RUN_LOCK
from cotpd.corpus.records import Sample

SUMMARY = "summary.json"


@dataclass(frozen=True)
class RunFiles:
    """The paths of one run directory, grouped by the stage that writes them."""

    root: Path

    # corpus: `cotpd data` (and every stage, on first use)
    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def split(self, name: str) -> Path:
        return self.data_dir / f"{name}.jsonl"

    # caption stage
    @property
    def captions_dir(self) -> Path:
        return self.root / "captions"

    @property
    def captions(self) -> Path:
        return self.captions_dir / "captions.jsonl"

    @property
    def captions_summary(self) -> Path:
        return self.captions_dir / SUMMARY

    # teach stage
    @property
    def teacher_dir(self) -> Path:
        return self.root / "teacher"

    @property
    def knowledge(self) -> Path:
        return self.teacher_dir / "knowledge.jsonl"

    @property
    def store(self) -> Path:
        """The knowledge store when teacher.store names none elsewhere."""
        return self.teacher_dir / "store.sqlite"

    @property
    def teacher_answers(self) -> Path:
        """Each prompt's answer per sample, before the knowledge joins them."""
        return self.teacher_dir / "answers.jsonl"

    @property
    def teacher_summary(self) -> Path:
        return self.teacher_dir / SUMMARY

    # augment stage
    @property
    def augment_dir(self) -> Path:
        return self.root / "augment"

    @property
    def augmented(self) -> Path:
        return self.augment_dir / "train.jsonl"

    @property
    def augment_summary(self) -> Path:
        return self.augment_dir / SUMMARY

    # train stage
    @property
    def student_dir(self) -> Path:
        return self.root / "student"

    @property
    def student_model(self) -> Path:
        return self.student_dir / "model"

    @property
    def checkpoints(self) -> Path:
        return self.student_dir / "checkpoints"

    @property
    def train_report(self) -> Path:
        return self.student_dir / "train_report.json"

    @property
    def train_inputs(self) -> Path:
        """What the trained student was made from (`cotpd run` keeps a current one)."""
        return self.student_dir / "pipeline_inputs.json"

    @property
    def teacher_cache(self) -> Path:
        return self.student_dir / "teacher_cache"

    # evaluate stage
    @property
    def eval_dir(self) -> Path:
        return self.root / "eval"

    def predictions(self, split: str, extension: str) -> Path:
        return self.eval_dir / f"{split}.{extension}"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def report(self) -> Path:
        return self.root / "report.md"

    @property
    def plots_dir(self) -> Path:
        return self.root / "plots"

    # every stage: provenance, logs, the writer's lock
    @property
    def resolved_config(self) -> Path:
        return self.root / "config.resolved.yaml"

    def manifest(self, stage: str) -> Path:
        return self.root / "manifests" / f"{stage}.json"

    def log(self, stage: str) -> Path:
        return self.root / "logs" / f"{stage}.log"

    @property
    def pipeline_times(self) -> Path:
        return self.root / "pipeline_times.json"

    @property
    def lock(self) -> Path:
        return self.root / RUN_LOCK


def read_caption_records(path: Path, text: str | None = None) -> list[dict[str, Any]]:
    """The caption stage's records (`text`: the file's content, when already read)."""
    records = []
    lines = (path.read_text(encoding="utf-8") if text is None else text).splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
            records[-1]["img_id"] = str(records[-1]["img_id"])
        except (json.JSONDecodeError, KeyError, TypeError):
            raise DataFormatError(path, number, shorten(line), "one caption record per line, "
                                  "as `cotpd caption` writes") from None
    return records


def ok_captions(path: Path) -> dict[str, str]:
    """Only the captions with status ok (`load_captions` would also take the empty ones)."""
    return {normalise_image_id(r["img_id"]): r["caption"] for r in read_caption_records(path)
            if r.get("status") == "ok"}


def read_captions(run_dir: Path, configured: Path | None = None) -> dict[str, str] | None:
    """A configured captions file, else the run's own ok captions, else None (teacher and
    student use the same rule)."""
    if configured:
        return load_captions(configured)
    written = RunFiles(run_dir).captions
    return ok_captions(written) if written.is_file() else None


def knowledge_files(run_dir: Path, configured: Iterable[Path] = ()) -> list[Path]:
    """The configured knowledge files, else what the teach stage wrote into the run."""
    configured = list(configured)
    if configured:
        return configured
    written = RunFiles(run_dir).knowledge
    return [written] if written.is_file() else []


def attach_run_context(splits: dict[str, list[Sample]], run_dir: Path,
                       captions: Path | None = None,
                       knowledge: Iterable[Path] = ()) -> dict[str, dict[str, int]]:
    """Captions and knowledge (configured files, else the run's) attached to each split's
    samples; returns the counts per split (nothing dropped silently)."""
    caption_table = read_captions(run_dir, captions)
    files = knowledge_files(run_dir, knowledge)
    knowledge_table = load_knowledge_files(files) if files else None
    return {name: attach_context(samples, caption_table, knowledge_table).to_dict()
            for name, samples in splits.items()}


def read_augmented(run_dir: Path, expected: bool) -> list[Sample] | None:
    """The augmented training samples when the config asks for them (`expected`; None
    otherwise); a missing file is an error that names the command to run."""
    if not expected:
        return None
    path = RunFiles(run_dir).augmented
    if not path.is_file():
        raise CotpdError(f"{path} is missing: the config has an augment section, so run "
                         "`cotpd augment CONFIG` (with the same --set options) before training")
    return read_samples_jsonl(path)
