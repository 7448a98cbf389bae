import json
from pathlib import Path

from cotpd.corpus.files import read_samples_jsonl

REPO = Path(__file__).resolve().parents[2]


def test_prepare_writes_samples_report_and_provenance(tmp_path: Path, cotpd) -> None:
    config = REPO / "configs" / "demo_mner.yaml"
    first = cotpd("data", "prepare", config, "--set", f"run.output_dir={tmp_path}")
    assert first.exit_code == 0, first.err
    run_dir = tmp_path / "demo_mner"
    train = read_samples_jsonl(run_dir / "data" / "train.jsonl")
    assert len(train) >= 60 and train[0].task == "mner"
    report = json.loads((run_dir / "data" / "report.json").read_text())
    assert report["splits"]["test"]["sentences"] == len(
        read_samples_jsonl(run_dir / "data" / "test.jsonl"))
    assert all(len(sha) == 64 for sha in report["fingerprints"].values())
    manifest = json.loads((run_dir / "manifests" / "data.json").read_text())
    assert manifest["data_fingerprints"] == report["fingerprints"]
    assert "torch" in manifest["packages"] and "pydantic" in manifest["packages"]
    assert set(manifest["git"]) == {"commit", "dirty"}
    resolved = (run_dir / "config.resolved.yaml").read_text()
    assert "dataset: demo_mner" in resolved and "seed: 42" in resolved

    again = cotpd("data", "prepare", config, "--set", f"run.output_dir={tmp_path}")
    assert again.exit_code == 0 and "already prepared" in again.out


def test_prepare_mre(tmp_path: Path, cotpd) -> None:
    result = cotpd("data", "prepare", REPO / "configs" / "demo_mnre.yaml", "--set",
                   f"run.output_dir={tmp_path}")
    assert result.exit_code == 0, result.err
    dev = read_samples_jsonl(tmp_path / "demo_mnre" / "data" / "dev.jsonl")
    assert dev[0].task == "mre" and dev[0].head.name


def test_prepare_reports_a_bad_config_in_one_line(tmp_path: Path, cotpd) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("data:\n  dataset: demo_mner\n  root: /data\n")
    result = cotpd("data", "prepare", config)
    assert result.exit_code == 2
    assert "unknown key 'data.root'" in result.err and "did you mean 'data.data_root'" in result.err
