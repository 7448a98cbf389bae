"""studies/mnre_knowledge.yaml: it parses, `--list` lists its cells, and each cell is the
MNRE setup it promises."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STUDY = REPO / "studies" / "mnre_knowledge.yaml"


@pytest.fixture
def teacher_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COTPD_TEACHER_URLS", "[http://127.0.0.1:8011/v1]")


def test_the_mnre_study_lists_its_cells(cotpd, teacher_env, tmp_path: Path) -> None:
    result = cotpd("study", str(STUDY), "--list", "--data-root", str(tmp_path))
    assert result.exit_code == 0, result.err
    *lines, summary = result.out.splitlines()
    assert len(lines) == 3 * 3  # text, cot, distilled x 3 seeds
    assert all("  not run  ->  " in line for line in lines)
    assert summary == "0 of 9 listed cells finished"
    assert {line.split("__")[0] for line in lines} == {
        "student-text", "student-cot", "student-distilled"}


def test_each_cell_is_the_promised_setup(teacher_env) -> None:
    from cotpd.pipeline.study import cell_config, cells, load_study

    spec = load_study(STUDY)
    assert spec.metrics == ["official_dev.f1", "test.f1", "dev.f1", "train.seconds"]
    variants = {}
    for cell, seed in cells(spec):
        config = cell_config(spec, cell, seed)
        variants[cell["student"]] = config.student.variant
        assert config.data.dataset == "mnre" and config.data.dev_from_train_fraction == 0.1
        assert config.student.encoder == "embedded:minilm"
        if cell["student"] == "text":
            assert config.teacher is None
            continue
        teacher = config.teacher
        assert teacher.backend == "openai" and teacher.knowledge.prompts == ["noun", "sentence"]
        assert teacher.openai.base_urls == ["http://127.0.0.1:8011/v1"]
    assert variants == {"text": "text", "cot": "cot", "distilled": "cpd"}


def test_the_quarter_study_is_the_base_study_on_a_quarter_of_the_labels(teacher_env) -> None:
    from cotpd.pipeline.study import cell_config, cells, load_study

    base = load_study(STUDY)
    quarter = load_study(REPO / "studies" / "mnre_labelled25.yaml")
    assert quarter.name == "mnre_labelled25" and quarter.store == base.store
    assert quarter.axes == base.axes and quarter.seeds == base.seeds
    for (cell, seed), (base_cell, _) in zip(cells(quarter), cells(base), strict=True):
        ours = cell_config(quarter, cell, seed).model_dump()
        theirs = cell_config(base, base_cell, seed).model_dump()
        assert ours["data"]["labelled_fraction"] == 0.25
        assert ours["data"]["labelled_count"] is None
        assert theirs["data"]["labelled_count"] == 4000
        for key in ("labelled_fraction", "labelled_count"):
            ours["data"].pop(key)
            theirs["data"].pop(key)
        assert ours.pop("run")["output_dir"] == Path("runs/studies/mnre_labelled25/runs")
        theirs.pop("run")
        assert ours == theirs
