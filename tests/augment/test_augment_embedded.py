"""`cotpd augment` on the demo data with the embedded teacher (Gemma 3 270M) on a few
samples, then a short student training on the augmented file (about a minute on 2 cores)."""

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "configs" / "demo_mner.yaml"


def test_cotpd_augment_with_the_embedded_teacher_then_train(tmp_path: Path, tiny_encoder: Path,
                                                            cotpd) -> None:
    common = ["--set", f"run.output_dir={tmp_path}", "--set", "augment.sources=2",
              "--set", "augment.times.style=1", "--set", "augment.times.entity=1",
              "--set", "augment.times.image=1", "--set", "teacher.batch_size=2"]
    result = cotpd("augment", DEMO, *common)
    assert result.exit_code == 0, result.err[-2000:]
    run = tmp_path / "demo_mner"
    summary = json.loads((run / "augment" / "summary.json").read_text())
    assert summary["sources"] == 2 and set(summary["types"]) == {"style", "entity", "image"}
    for counts in summary["types"].values():
        assert counts["asked"] == 2 == counts["kept"] + sum(counts["dropped"].values())
        assert counts["teacher_prompts"]["failed"] == 0
    lines = [json.loads(line) for line in (run / "augment" / "train.jsonl").open()]
    assert len(lines) == summary["written"]
    assert all(line["provenance"]["teacher"] == summary["fingerprint"] for line in lines)
    assert (run / "manifests" / "augment.json").is_file()
    assert "asked" in result.out and "augmented samples" in result.out
    again = cotpd("augment", DEMO, *common)
    assert again.exit_code == 0
    rerun = json.loads((run / "augment" / "summary.json").read_text())
    assert all(c["teacher_prompts"]["asked"] == 0 for c in rerun["types"].values())
    trained = cotpd("train", DEMO, *common, "--set", f"student.encoder={tiny_encoder}",
                    "--set", "student.train.max_steps=2", "--set", "student.train.eval_steps=2",
                    "--set", "student.context.knowledge=[]", "--set", "student.variant=text")
    assert trained.exit_code == 0, trained.err[-2000:]
    report = json.loads((run / "student" / "train_report.json").read_text())
    assert report["context"]["augment"]["samples"] == summary["written"]
