"""`cotpd run` (every stage, then the report) and `cotpd study` (a teacher-swapping grid) on
the demo data with a tiny encoder and imported knowledge: quick, and the real code paths."""

import json
from pathlib import Path

import pytest
import yaml
from cotpd.corpus.bio import bio_spans
from cotpd.corpus.mnre import read_mnre
from cotpd.corpus.registry import SPLITS, get_dataset, read_split
from cotpd.eval.scoring import score_files

REPO = Path(__file__).resolve().parents[2]
HANDWRITTEN = REPO / "data" / "demo_mner" / "knowledge" / "handwritten.jsonl"


def quick(tmp_path: Path, encoder: Path) -> list[str]:
    """Overrides for a seconds-long run: tiny encoder, 3 steps, the import teacher."""
    return ["--set", f"run.output_dir={tmp_path}", "--set", f"student.encoder={encoder}",
            "--set", "student.train.max_steps=3", "--set", "student.train.eval_steps=3",
            "--set", "teacher.backend=import", "--set", "teacher.name=handwritten",
            "--set", f"teacher.import_files=[{HANDWRITTEN}]"]


def test_run_goes_through_every_stage_and_reports(tmp_path: Path, tiny_encoder: Path,
                                                  cotpd) -> None:
    config = str(REPO / "configs" / "demo_mner.yaml")
    result = cotpd("run", config, "--only", "caption,teach,train,evaluate",
                   *quick(tmp_path, tiny_encoder))
    assert result.exit_code == 0, result.err[-3000:]
    run_dir = tmp_path / "demo_mner"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics["splits"]) == {"dev", "test"}
    assert metrics["teacher"]["name"] == "handwritten"
    assert metrics["knowledge"]["test"]["with_knowledge"] == 30
    assert metrics["fingerprints"]["student_weights"] and metrics["fingerprints"]["config"]
    assert {"caption", "teach", "train", "evaluate"} <= set(metrics["stages"])
    report = (run_dir / "report.md").read_text()
    assert "## Per type (test)" in report and "worst errors" in report
    # 8 of the 63 demo test entities are named in train (data/README.md counts them).
    groups = metrics["seen_unseen"]["test"]
    assert (groups["seen"]["micro"]["n_gold"], groups["unseen"]["micro"]["n_gold"]) == (8, 55)
    assert "## Entities seen in training vs unseen (test)" in report
    assert (run_dir / "plots" / "per_type_f1.png").stat().st_size > 1000
    assert "report: " in result.out and "test" in result.out
    # The predictions on disk give the same score through `cotpd eval score`.
    scored = cotpd("eval", "score", "--gold", str(REPO / "data" / "demo_mner" / "test.txt"),
                   "--pred", str(run_dir / "eval" / "test.conll"), "--json")
    assert json.loads(scored.out)["micro"]["f1"] == pytest.approx(metrics["headline"]["f1"])
    # A second run keeps the trained student: its inputs have not changed.
    again = cotpd("run", config, "--only", "train,evaluate", *quick(tmp_path, tiny_encoder))
    assert again.exit_code == 0 and "already trained; kept" in again.out


def test_run_names_stages_the_config_lacks_and_rejects_unknown(tmp_path: Path, cotpd) -> None:
    config = str(REPO / "configs" / "demo_mner.yaml")
    wrong = cotpd("run", config, "--only", "trian", "--set", f"run.output_dir={tmp_path}")
    assert wrong.exit_code == 2 and "unknown stage(s) trian" in wrong.err


def test_study_compares_two_teachers_in_one_table(tmp_path: Path, tiny_encoder: Path,
                                                  demo_context, cotpd) -> None:
    _, other_knowledge = demo_context
    study = tmp_path / "study.yaml"
    study.write_text(f"""
name: swap
config: {REPO / 'configs' / 'demo_mner.yaml'}
output_dir: {tmp_path / 'studies'}
overrides:
  student.encoder: {tiny_encoder}
  student.train.max_steps: 3
  student.train.eval_steps: 3
  teacher.backend: import
axes:
  teacher:
    handwritten: {{teacher.name: handwritten, teacher.import_files: [{HANDWRITTEN}]}}
    entity-list: {{teacher.name: entity-list, teacher.import_files: [{other_knowledge}]}}
cell_overrides:
  - {{where: {{teacher: entity-list}}, set: {{student.train.max_steps: 2}}}}
compare_to: {{teacher: handwritten}}
seeds: [1, 2]
stages: [caption, teach, train, evaluate]
""")
    quality_only = cotpd("study", str(study), "--only", "caption,teach")
    assert quality_only.exit_code == 0, quality_only.err[-3000:]
    assert "no cell was evaluated" in quality_only.out and "entity-list" in quality_only.out
    # A part of the grid: one cell trains, the others are named and left.
    part = cotpd("study", str(study), "--where", "teacher=handwritten", "--seeds", "1")
    assert part.exit_code == 0, part.err[-3000:]
    assert part.out.count("not selected, not run") == 3
    assert "| handwritten | 1 |" in part.out and "| entity-list | 1 |" not in part.out
    assert "| entity-list (" in part.out  # its knowledge quality: answered, not trained
    # --list says which cells a run would keep, and which ran with settings no longer asked.
    listed = cotpd("study", str(study), "--list").out.splitlines()
    assert "teacher-handwritten__seed-1  finished  ->  " in listed[0]
    assert all("  not run  ->  " in line for line in listed[1:4])
    assert listed[4] == "1 of 4 listed cells finished"
    changed = cotpd("study", str(study), "--list", "--where", "teacher=handwritten",
                    "--set", "student.train.max_steps=4").out.splitlines()
    assert "teacher-handwritten__seed-1  other settings  ->  " in changed[0]
    assert changed[2] == "0 of 2 listed cells finished, 1 ran with other settings"
    result = cotpd("study", str(study))
    assert result.exit_code == 0, result.err[-3000:]
    out = tmp_path / "studies" / "swap"
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and all(r["scores"]["test.f1"] is not None for r in rows)
    table = (out / "table.md").read_text()
    assert "| handwritten | 2 |" in table and "| entity-list | 2 |" in table
    assert "Knowledge quality" in table and (out / "plot.png").is_file()
    assert "finished earlier, kept" in result.out  # the cell the partial run trained
    # The cell override reached its cells only.
    steps = {r["cell"]["teacher"]: yaml.safe_load(
        (Path(r["run"]) / "config.resolved.yaml").read_text())["student"]["train"]["max_steps"]
        for r in rows}
    assert steps == {"handwritten": 3, "entity-list": 2}
    paired = table.split("## Paired by seed against teacher=handwritten")[1]
    assert "| entity-list | 1, 2 | " in paired
    # The entity-list knowledge names every gold entity token by construction: its row shows
    # every gold entity of the prepared splits named, and every sample with knowledge.
    samples = [s for split in SPLITS for s in read_split(get_dataset("demo_mner"), split).samples]
    entities = sum(len(bio_spans(s.labels)) for s in samples)
    rows = {line.split(" (")[0].strip("| "): line for line in table.splitlines()
            if line.startswith(("| entity-list (", "| handwritten ("))}
    assert f"| 100.0% of {entities} | {len(samples)} of {len(samples)} |" in rows["entity-list"]
    # Both teachers are measured against the same gold entities (one row each).
    assert f"% of {entities} | {len(samples)} of {len(samples)} |" in rows["handwritten"]
    # Per prompt: the imported prompt's own row says the same for the entity-list teacher.
    prompt_rows = [line for line in table.split("### Per prompt")[1].splitlines()
                   if line.startswith("| entity-list | demo_mner | imported (")]
    assert len(prompt_rows) == 1
    assert f"| 100.0% | {len(samples)} of {len(samples)} |" in prompt_rows[0]
    again = cotpd("study", str(study))
    assert again.out.count("finished earlier, kept") == 4
    # The study's own log: each command, each cell's fate and time, the table.
    log = (out / "study.log").read_text(encoding="utf-8")
    assert log.count(" INFO cotpd.pipeline.study_log: study swap started: ") == 4
    assert log.count(" INFO cotpd.pipeline.study_log: study swap done in ") == 4
    assert " INFO cotpd.pipeline.study_log: teacher-handwritten__seed-1 ran in " in log
    assert log.count(" ran in ") == 4 + 1 + 3  # quality only, the part, the rest
    assert log.count(": not selected, not run") == 3
    assert log.count(": finished earlier, kept") == 1 + 4
    assert "| handwritten | 2 |" in log  # the table the command printed
    # A cell that fails: named in the log with its time and error, and the study stops.
    broken = tmp_path / "broken.yaml"
    broken.write_text(study.read_text().replace("name: swap", "name: broken").replace(
        str(HANDWRITTEN), str(tmp_path / "missing.jsonl")))
    failed = cotpd("study", str(broken), "--only", "teach", "--where", "teacher=handwritten")
    assert failed.exit_code == 2 and "missing.jsonl" in failed.err
    log = (tmp_path / "studies" / "broken" / "study.log").read_text(encoding="utf-8")
    assert " ERROR cotpd.pipeline.study_log: teacher-handwritten__seed-1 failed after " in log
    assert " ERROR cotpd.pipeline.study_log: study broken failed after " in log
    assert "missing.jsonl" in log and " ran in " not in log


def test_run_reports_a_relation_student(tmp_path: Path, tiny_encoder: Path, cotpd) -> None:
    config = str(REPO / "configs" / "demo_mnre.yaml")
    result = cotpd("run", config, "--only", "train,evaluate", "--set",
                   f"run.output_dir={tmp_path}", "--set", f"student.encoder={tiny_encoder}",
                   "--set", "student.variant=text", "--set", "student.train.max_steps=2",
                   "--set", "student.train.eval_steps=2")
    assert result.exit_code == 0, result.err[-3000:]
    run_dir = tmp_path / "demo_mnre"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["task"] == "mre" and "per_relation" in metrics["splits"]["test"]
    # The prediction file, re-read and scored against the gold file, gives metrics.json's
    # counts and scores: what was written is what was measured.
    predictions, gold = run_dir / "eval" / "test.txt", REPO / "data" / "demo_mnre" / "test.txt"
    predicted = read_mnre(predictions).samples
    assert len(predicted) == len(read_mnre(gold).samples) == metrics["knowledge"]["test"]["samples"]
    rescored = score_files(gold, predictions).to_dict()
    assert rescored == metrics["splits"]["test"]  # the same counts; floats survive JSON
    assert rescored["micro"]["f1"] == pytest.approx(metrics["headline"]["f1"])
    report = (run_dir / "report.md").read_text()
    assert "## Confusion (test; rows gold, columns predicted)" in report
