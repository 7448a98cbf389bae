"""One path through the stages: `cotpd run` and the single-stage commands (caption, teach,
augment, train, evaluate) leave the same files in the run directory, a manifest and a log
for every stage included, and print the same summary lines. Demo data, a tiny encoder and a
local OpenAI-compatible fake teacher keep it to seconds."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.fake_openai_server import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / "configs" / "demo_mner.yaml")
STAGES = ("caption", "teach", "augment", "train", "evaluate")
# Written by `cotpd run` alone (its per-stage times) or by whichever command ran last.
RUN_ONLY = {"pipeline_times.json"}


def overrides(out: Path, encoder: Path, url: str) -> list[str]:
    return ["--set", f"run.output_dir={out}", "--set", f"student.encoder={encoder}",
            "--set", "student.train.max_steps=2", "--set", "student.train.eval_steps=2",
            "--set", "teacher.backend=openai", "--set", "teacher.name=fake",
            "--set", f"teacher.openai.base_urls=[{url}]", "--set", "teacher.openai.model=fake",
            "--set", "teacher.knowledge.prompts=[noun]",
            "--set", "augment.sources=2", "--set", "augment.times.style=1"]


def files_under(run_dir: Path) -> set[str]:
    """Every file's path in the run, TensorBoard's (named by time, host and pid) as one."""
    return {re.sub(r"/runs/.*", "/runs/*", str(p.relative_to(run_dir)))
            for p in run_dir.rglob("*") if p.is_file()}


def stage_lines(out: str, stage: str, out_dir: Path) -> list[str]:
    """The stage's summary lines, with its output folder and every timing or score (a
    decimal) blanked."""
    return [re.sub(r"\d+\.\d+", "#", line.replace(str(out_dir), "OUT"))
            for line in out.splitlines() if line.startswith(f"[{stage}] ")
            and " started (run directory " not in line and " done in " not in line]


def test_run_and_the_stage_commands_write_the_same_files(tmp_path: Path, tiny_encoder: Path,
                                                         cotpd) -> None:
    with FakeOpenAIServer() as server:
        whole = cotpd("run", CONFIG, *overrides(tmp_path / "run", tiny_encoder, server.url))
        assert whole.exit_code == 0, whole.err[-3000:]
        singles = {}
        for stage in STAGES:
            singles[stage] = cotpd(stage, CONFIG,
                                   *overrides(tmp_path / "single", tiny_encoder, server.url))
            assert singles[stage].exit_code == 0, (stage, singles[stage].err[-3000:])
    by_run, by_stage = tmp_path / "run" / "demo_mner", tmp_path / "single" / "demo_mner"
    made_by_run, made_by_stage = files_under(by_run), files_under(by_stage)
    assert made_by_run - RUN_ONLY == made_by_stage
    assert made_by_run >= RUN_ONLY
    for stage in STAGES:
        for run_dir in (by_run, by_stage):
            manifest = json.loads((run_dir / "manifests" / f"{stage}.json").read_text())
            assert manifest["stage"] == stage and manifest["data_fingerprints"]
            log = (run_dir / "logs" / f"{stage}.log").read_text()
            assert f"[{stage}] started" in log and f"[{stage}] done in" in log
        # The same summary, line for line, apart from the output folder and the timings.
        said_by_run = stage_lines(whole.out, stage, tmp_path / "run")
        assert said_by_run == stage_lines(singles[stage].out, stage, tmp_path / "single")
        assert said_by_run
    evaluated = json.loads((by_run / "manifests" / "evaluate.json").read_text())
    metrics = json.loads((by_run / "metrics.json").read_text())
    assert evaluated["data_fingerprints"] == metrics["fingerprints"]["data"]
    assert set(json.loads((by_run / "pipeline_times.json").read_text())) == set(STAGES)


def test_a_current_student_is_kept_by_run_but_trained_again_by_train(
        tmp_path: Path, tiny_encoder: Path, cotpd) -> None:
    quick = ["--set", f"run.output_dir={tmp_path}", "--set", f"student.encoder={tiny_encoder}",
             "--set", "student.train.max_steps=2", "--set", "student.train.eval_steps=2",
             "--set", "student.variant=text", "--set", "student.context.knowledge=[]"]
    trained = cotpd("train", CONFIG, *quick)
    assert trained.exit_code == 0, trained.err[-3000:]
    assert "[train] student (text) -> " in trained.out
    # `cotpd train` records the inputs it trained on, so `cotpd run` keeps that student.
    kept = cotpd("run", CONFIG, *quick, "--only", "train")
    assert kept.exit_code == 0, kept.err[-3000:]
    assert "[train] the student of these inputs is already trained; kept" in kept.out
    again = cotpd("train", CONFIG, *quick)
    assert again.exit_code == 0 and "[train] student (text) -> " in again.out
