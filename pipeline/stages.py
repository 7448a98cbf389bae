"""All stages of one config in order: caption, teach, augment, train, evaluate.

Each stage is the same function its own command calls, and each skips what is already done
(captions and teacher answers are cached per item; a finished student whose inputs have not
changed is kept), so a re-run after a failure continues where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from corpus.errors import CotpdError
from corpus.files import atomic_write_text
from corpus.fingerprint import sha256_file
from corpus.lock import run_dir_lock
from corpus.run_files import RunFiles
from corpus.schema import config_to_yaml
from pipeline import sections
from pipeline.config import RunConfig
from pipeline.rundir import write_provenance

STAGES = ("caption", "teach", "augment", "train", "evaluate")


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
    return {"config": hashlib.sha256(config_to_yaml(run_config).encode()).hexdigest(),
            "knowledge": _file_digest(files.knowledge),
            "captions": _file_digest(files.captions),
            "augmented": _file_digest(files.augmented)}


def student_is_current(run_config: RunConfig, run_dir: Path) -> bool:
    files = RunFiles(run_dir)
    recorded = files.train_inputs
    if not (files.student_model / "student.json").is_file() or not recorded.is_file():
        return False
    return json.loads(recorded.read_text(encoding="utf-8")) == train_inputs(run_config, run_dir)


def _caption(run_config: RunConfig, run_dir: Path) -> str:
    summary = sections.caption(run_config, run_dir)
    if summary["written"]:
        write_provenance(run_dir, "caption", run_config, summary["fingerprints"])
        return (f"{summary['ok']} ok, {summary['failed']} failed, {summary['skipped_done']} "
                f"already done of {summary['images']} images")
    return summary["message"]


def _teach(run_config: RunConfig, run_dir: Path) -> str:
    summary = sections.teach(run_config, run_dir)
    write_provenance(run_dir, "teach", run_config, summary["fingerprints"])
    if "import" in summary:
        done = ", ".join(f"{n} {what}" for what, n in summary["import"].items())
    else:
        done = (f"{summary['answered']} answered, {summary['failed']} failed, "
                f"{summary['truncated']} truncated, "
                f"{summary['skipped_done']} from the store")
    return f"{summary['teacher']}: {done}; knowledge {summary['knowledge']}"


def _augment(run_config: RunConfig, run_dir: Path) -> str:
    summary = sections.augment(run_config, run_dir)
    write_provenance(run_dir, "augment", run_config, summary.get("fingerprints", {}))
    types = summary.get("types", {})
    asked = sum(t.get("asked", 0) for t in types.values())
    kept = ", ".join(f"{name} {t.get('kept', 0)}/{t.get('asked', 0)}" for name, t in types.items())
    return f"{summary.get('written', 0)} augmented samples written of {asked} asked ({kept})"


def _train(run_config: RunConfig, run_dir: Path) -> str:
    if student_is_current(run_config, run_dir):
        return "the student of these inputs is already trained; kept"
    result = sections.train(run_config, run_dir)
    write_provenance(run_dir, "train", run_config, result.report["fingerprints"])
    atomic_write_text(RunFiles(run_dir).train_inputs,
                      json.dumps(train_inputs(run_config, run_dir), indent=2) + "\n")
    return f"dev F1 {100 * result.dev_metrics.get('eval_f1', 0.0):.2f}"


def _evaluate(run_config: RunConfig, run_dir: Path) -> str:
    from pipeline.evaluate_stage import evaluate_run

    metrics = evaluate_run(run_config, run_dir)
    head = metrics["headline"]
    return f"{head['split']} F1 {100 * head['f1']:.2f}"


RUNNERS: dict[str, Callable[[RunConfig, Path], str]] = {
    "caption": _caption, "teach": _teach, "augment": _augment, "train": _train,
    "evaluate": _evaluate}


def run_stages(run_config: RunConfig, run_dir: Path, only: Sequence[str] | None = None,
               echo: Callable[[str], None] = print) -> dict[str, float]:
    """Run the planned stages (or `only` those, in pipeline order); returns seconds per
    stage, also written to `<run>/pipeline_times.json`."""
    planned = planned_stages(run_config)
    if only:
        unknown = sorted(set(only) - set(STAGES))
        if unknown:
            raise CotpdError(f"unknown stage(s) {', '.join(unknown)}; the stages are "
                             f"{', '.join(STAGES)}")
        for stage in (s for s in STAGES if s in only and s not in planned):
            echo(f"[{stage}] the config has no section for this stage; skipped")
        planned = [s for s in planned if s in only]
    times: dict[str, float] = {}
    with run_dir_lock(run_dir):
        for stage in planned:
            echo(f"[{stage}] ...")
            began = time.perf_counter()
            outcome = RUNNERS[stage](run_config, run_dir)
            times[stage] = round(time.perf_counter() - began, 2)
            echo(f"[{stage}] {outcome} ({times[stage]} s)")
        atomic_write_text(RunFiles(run_dir).pipeline_times, json.dumps(times, indent=2) + "\n")
    return times
