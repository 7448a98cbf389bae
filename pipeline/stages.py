"""The one path through a stage, for its own command (`cotpd caption|teach|augment|train|
evaluate`) and for `cotpd run` alike: `run_stage` opens `<run>/logs/<stage>.log`, holds the
run's lock, calls the stage, writes its manifest (`manifests/<stage>.json`) and prints its
summary, so the two kinds of command cannot drift apart. `run_stages` runs the stages of one
config in order.

Each stage skips what is already done (captions and teacher answers are cached per item;
under `cotpd run` a finished student whose inputs have not changed is kept), so a re-run
after a failure continues where it stopped.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.files import atomic_write_text
from cotpd.corpus.fingerprint import config_fingerprint, fingerprint_matches, sha256_file
from cotpd.corpus.lock import run_dir_lock
from cotpd.corpus.run_files import RunFiles
from cotpd.corpus.stage_result import StageResult
from cotpd.pipeline import sections, summaries
from cotpd.pipeline.config import RunConfig
from cotpd.pipeline.logs import FILE_ONLY, log_to_file
from cotpd.pipeline.rundir import write_provenance
from cotpd.pipeline.summaries import Summary

logger = logging.getLogger(__name__)

STAGES = ("caption", "teach", "augment", "train", "evaluate")

# The config keys (dotted prefixes) each stage reads: a `${VAR}` left unset elsewhere does
# not stop it (training never asks the teacher, so it needs no server URL).
STAGE_READS: dict[str, tuple[str, ...]] = {
    "caption": ("run", "data", "caption"),
    "teach": ("run", "data", "teacher", "student.encoder", "student.trust_remote_code"),
    "augment": ("run", "data", "teacher", "augment"),
    "train": ("run", "data", "student", "augment"),
    "evaluate": ("run", "data", "student"),
}


@dataclass
class Outcome:
    """What a stage did (None: a current student was kept, not trained again) and the
    summary to print."""

    result: StageResult | None
    summary: Summary

    @property
    def fingerprints(self) -> dict[str, str] | None:
        """The data fingerprints for the stage's manifest (None: it wrote nothing, so it
        leaves no manifest)."""
        return self.result.fingerprints if self.result else None


def planned_stages(run_config: RunConfig) -> list[str]:
    """The stages this config asks for, in order."""
    planned = []
    if run_config.caption is not None and run_config.caption.backend != "none":
        planned.append("caption")
    if run_config.teacher is not None:
        planned.append("teach")
    if getattr(run_config, "augment", None) is not None:
        planned.append("augment")
    if run_config.student is not None:
        planned += ["train", "evaluate"]
    return planned


def _file_digest(path: Path) -> str | None:
    return sha256_file(path) if path.is_file() else None


def train_inputs(run_config: RunConfig, run_dir: Path) -> dict[str, Any]:
    """What a trained student depends on: its config and the files other stages wrote."""
    files = RunFiles(run_dir)
    return {"config": config_fingerprint(run_config),
            "knowledge": _file_digest(files.knowledge),
            "captions": _file_digest(files.captions),
            "augmented": _file_digest(files.augmented)}


def student_is_current(run_config: RunConfig, run_dir: Path) -> bool:
    files = RunFiles(run_dir)
    recorded = files.train_inputs
    if not (files.student_model / "student.json").is_file() or not recorded.is_file():
        return False
    inputs = json.loads(recorded.read_text(encoding="utf-8"))
    current = train_inputs(run_config, run_dir)
    return (fingerprint_matches(inputs.pop("config", None), run_config)
            and inputs == {k: v for k, v in current.items() if k != "config"})


# Each stage: its section call (torch loads only in train's and evaluate's) and its summary.
RUNNERS: dict[str, Callable[..., StageResult]] = {
    "caption": sections.run_caption, "teach": sections.run_teach,
    "augment": sections.run_augment, "train": sections.run_train,
    "evaluate": sections.run_evaluate}
SUMMARIES: dict[str, Callable[..., Summary]] = {
    "caption": summaries.caption_summary, "teach": summaries.teach_summary,
    "augment": summaries.augment_summary, "train": summaries.train_summary,
    "evaluate": summaries.evaluate_summary}


def _run(stage: str, run_config: RunConfig, run_dir: Path,
         keep_current_student: bool = False, **options: Any) -> Outcome:
    if stage == "train" and keep_current_student and student_is_current(run_config, run_dir):
        return Outcome(None, summaries.train_summary(None, run_dir))
    result = RUNNERS[stage](run_config, run_dir, **options)
    if stage == "train" and _rank() == 0:
        # What the student was made from, so that `cotpd run` can keep it.
        atomic_write_text(RunFiles(run_dir).train_inputs,
                          json.dumps(train_inputs(run_config, run_dir), indent=2) + "\n")
    return Outcome(result, SUMMARIES[stage](result, run_dir))


def _rank() -> int:
    return int(os.environ.get("RANK", "0"))  # under torchrun/deepspeed, rank 0 reports


def run_stage(stage: str, run_config: RunConfig, run_dir: Path,
              echo: Callable[[str], None] = click.echo, **options: Any) -> Outcome:
    """Run one stage with its log, lock, manifest and summary. `options` go to the stage
    (`retry_failed` for caption and teach; `keep_current_student` for train).

    The ranks of a distributed training are processes of one training: rank 0 holds the
    run's lock, writes the log and the manifest and prints the summary for all of them."""
    if stage not in RUNNERS:
        raise CotpdError(f"unknown stage {stage!r}; the stages are {', '.join(STAGES)}")
    run_config.require_set(STAGE_READS[stage], stage)
    if _rank() != 0:
        return _run(stage, run_config, run_dir, **options)
    with log_to_file(RunFiles(run_dir).log(stage)):
        logger.info("[%s] started (run directory %s)", stage, run_dir)
        logger.debug("[%s] command: %s", stage, " ".join(sys.argv))
        began = time.perf_counter()
        try:
            with run_dir_lock(run_dir):
                outcome = _run(stage, run_config, run_dir, **options)
                if outcome.fingerprints is not None:
                    manifest = write_provenance(run_dir, stage, run_config,
                                                outcome.fingerprints)
                    logger.debug("[%s] manifest -> %s", stage, manifest)
        except BaseException as error:  # recorded in the log; the command reports it
            logger.error("[%s] failed: %s", stage, str(error) or type(error).__name__,
                         exc_info=not isinstance(error, CotpdError), extra={FILE_ONLY: True})
            raise
        _report(stage, outcome.summary, echo)
        logger.info("[%s] done in %.2f s", stage, time.perf_counter() - began)
    return outcome


def _report(stage: str, summary: Summary, echo: Callable[[str], None]) -> None:
    """The summary on the console (even under --quiet: it is the command's result) and in
    the stage's log."""
    for line in summary.lines:
        logger.info("[%s] %s", stage, line, extra={FILE_ONLY: True})
        echo(f"[{stage}] {line}")
    for note in summary.notes:
        logger.warning("[%s] %s", stage, note, extra={FILE_ONLY: True})
        click.echo(note, err=True)


def run_stages(run_config: RunConfig, run_dir: Path, only: Sequence[str] | None = None,
               echo: Callable[[str], None] = click.echo) -> dict[str, float]:
    """Run the planned stages (or `only` those, in pipeline order), each through
    `run_stage`; returns seconds per stage, also written to `<run>/pipeline_times.json`."""
    planned = planned_stages(run_config)
    if only:
        unknown = sorted(set(only) - set(STAGES))
        if unknown:
            raise CotpdError(f"unknown stage(s) {', '.join(unknown)}; the stages are "
                             f"{', '.join(STAGES)}")
        for stage in (s for s in STAGES if s in only and s not in planned):
            logger.warning("[%s] the config has no section for this stage; skipped", stage)
        planned = [s for s in planned if s in only]
    for stage in planned:  # before the first stage starts, not hours into the run
        run_config.require_set(STAGE_READS[stage], stage)
    times: dict[str, float] = {}
    with run_dir_lock(run_dir) if _rank() == 0 else contextlib.nullcontext():
        for stage in planned:
            began = time.perf_counter()
            run_stage(stage, run_config, run_dir, echo=echo, keep_current_student=True)
            times[stage] = round(time.perf_counter() - began, 2)
        if _rank() == 0:
            atomic_write_text(RunFiles(run_dir).pipeline_times,
                              json.dumps(times, indent=2) + "\n")
    return times
