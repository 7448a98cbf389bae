"""The config fingerprint counts what can change a result, not where or how fast the work is
done: a study cell finished against one teacher server stays finished against another."""

import json
from pathlib import Path

import pytest
import yaml
from cotpd.corpus.fingerprint import config_fingerprint, fingerprint_matches, sha256_bytes
from cotpd.corpus.run_files import RunFiles
from cotpd.corpus.schema import is_operational, result_settings
from cotpd.pipeline import study
from cotpd.pipeline.config import RunConfig, apply_overrides, load_yaml_with_base, validate
from cotpd.pipeline.config_reference import all_entries

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "demo_mner.yaml"
SERVER = ["teacher.backend=openai", "teacher.openai.base_urls=[http://10.0.0.1:8000/v1]",
          "teacher.openai.concurrency=64"]


def run_config(*settings: str) -> RunConfig:
    data = apply_overrides(load_yaml_with_base(CONFIG), [*SERVER, *settings])
    return validate(RunConfig, data, "test")


def test_operational_keys_do_not_count_and_result_keys_do() -> None:
    base = config_fingerprint(run_config())
    moved = run_config("teacher.openai.base_urls=[http://a:1/v1, http://b:2/v1]",
                       "teacher.openai.concurrency=4", "teacher.openai.timeout_s=600",
                       "teacher.openai.max_retries=9", "student.train.num_workers=4",
                       "student.train.logging_steps=1", "run.output_dir=/elsewhere")
    assert config_fingerprint(moved) == base
    for setting in ("teacher.sampling.temperature=0.7", "student.train.learning_rate=1e-5",
                    "teacher.openai.model=another", "student.variant=text", "run.seed=7"):
        assert config_fingerprint(run_config(setting)) != base, setting


def whole_config_before_added_fields(config: RunConfig) -> str:
    """The fingerprint a run recorded when whole configs were hashed, before the fields
    added since existed."""
    data = config.model_dump(mode="json")
    for section, key in (("student.distill", "labelled_repeats"), ("student", "mre"),
                         ("data", "dev_from_train_fraction"), ("data", "dev_from_train_seed"),
                         ("teacher.openai", "backoff_base_s"),
                         ("teacher.openai", "backoff_max_s")):
        parent = data
        for part in section.split("."):
            parent = parent[part]
        del parent[key]
    return sha256_bytes(yaml.safe_dump(data, sort_keys=False).encode())


def test_a_fingerprint_recorded_from_the_whole_config_still_matches() -> None:
    config = run_config()
    whole = whole_config_before_added_fields(config)
    assert fingerprint_matches(whole, config)
    assert not fingerprint_matches(whole, run_config("teacher.openai.concurrency=4"))
    assert not fingerprint_matches(None, config)


def test_the_reference_marks_the_operational_keys(cotpd) -> None:
    marked = {e.key for e in all_entries() if e.root == "run config" and e.operational}
    assert {"teacher.openai.base_urls", "teacher.openai.concurrency", "student.train.resume",
            "run.output_dir"} <= marked
    assert "teacher.sampling.temperature" not in marked
    assert all(is_operational(RunConfig.model_fields["run"].annotation.model_fields[name])
               for name in ("name", "output_dir"))
    explained = cotpd("config", "explain", "teacher.openai.base_urls")
    assert explained.exit_code == 0 and "not part of the config fingerprint" in explained.out


def test_a_study_cell_finished_under_one_server_url_is_kept_under_another(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec_file = tmp_path / "study.yaml"
    spec_file.write_text(f"name: urls\nconfig: {CONFIG}\noutput_dir: {tmp_path}\n"
                         "axes: {student: {text: {student.variant: text}}}\nseeds: [1]\n")
    spec = study.load_study(spec_file)
    (cell, seed), = study.cells(spec)
    finished = study.cell_config(spec, cell, seed, SERVER)
    metrics = RunFiles(finished.run.directory).metrics
    metrics.parent.mkdir(parents=True)
    metrics.write_text(json.dumps({  # what the evaluate stage records
        "fingerprints": {"config": config_fingerprint(finished)},
        "splits": {"test": {"micro": {"f1": 0.5}}, "dev": {"micro": {"f1": 0.6}}}}))

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("a finished cell was run again")

    monkeypatch.setattr(study, "run_stages", no_training)
    said: list[str] = []
    elsewhere = ["teacher.backend=openai", "teacher.openai.base_urls=[http://10.0.0.2:9000/v1]",
                 "teacher.openai.concurrency=8"]
    result = study.run_study(spec, elsewhere, echo=said.append)
    assert said == ["[1/1] student-text__seed-1: finished earlier, kept"]
    assert result["table"][0]["test.f1"][0] == pytest.approx(0.5)
    # A setting that changes the result makes the cell unfinished.
    changed = study.cell_config(spec, cell, seed, [*elsewhere, "student.train.learning_rate=1"])
    assert study.finished_metrics(changed) is None


def test_a_field_added_later_keeps_earlier_runs_finished_at_its_default() -> None:
    """student.distill.labelled_repeats came after runs were recorded: a config that leaves
    it at 1 hashes as the same config did before the field existed (both fingerprints)."""
    config = run_config()
    settings = result_settings(config)
    assert "labelled_repeats" not in settings["student"]["distill"]
    whole_before = whole_config_before_added_fields(config)
    assert fingerprint_matches(whole_before, config)
    repeated = run_config("student.distill.labelled_repeats=3")
    assert result_settings(repeated)["student"]["distill"]["labelled_repeats"] == 3
    assert config_fingerprint(repeated) != config_fingerprint(config)
    assert not fingerprint_matches(whole_before, repeated)
