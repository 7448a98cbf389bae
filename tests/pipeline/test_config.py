import json
from pathlib import Path

import pytest
import yaml
from cotpd.corpus.schema import config_to_yaml
from cotpd.pipeline.config import (
    ConfigError,
    apply_overrides,
    load_run_config,
    load_yaml_with_base,
)

REPO = Path(__file__).resolve().parents[2]


def write(path: Path, data: dict | str) -> Path:
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def test_base_is_merged_under_the_file(tmp_path: Path) -> None:
    write(tmp_path / "base.yaml", {"run": {"seed": 1, "name": "base"}, "data": {
        "dataset": "demo_mner"}})
    child = write(tmp_path / "child.yaml", {"base": "base.yaml", "run": {"name": "child"}})
    config = load_run_config(child)
    assert (config.run.name, config.run.seed, config.data.dataset) == ("child", 1, "demo_mner")


def test_overrides_are_typed(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", {"data": {"dataset": "demo_mner"}})
    config = load_run_config(path, ["run.seed=7", "data.dataset=demo_mnre",
                                    "data.data_root=/data"])
    assert config.run.seed == 7 and config.data.dataset == "demo_mnre"
    assert config.data.data_root == Path("/data")


def test_unknown_key_names_the_closest_valid_key(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", {"data": {"datset": "demo_mner"}})
    with pytest.raises(ConfigError) as caught:
        load_run_config(path)
    message = str(caught.value)
    assert "unknown key 'data.datset'" in message and "did you mean 'data.dataset'" in message
    assert str(path) in message


def test_unknown_override_key_fails(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", {"data": {"dataset": "demo_mner"}})
    with pytest.raises(ConfigError, match="did you mean 'run.seed'"):
        load_run_config(path, ["run.sed=3"])


def test_wrong_type_names_the_key_and_value(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", {"run": {"seed": "many"}, "data": {"dataset": "demo_mner"}})
    with pytest.raises(ConfigError, match=r"run.seed: .*integer.*'many'"):
        load_run_config(path)


def test_unknown_dataset_suggests_a_registered_one(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", {"data": {"dataset": "twiter2017"}})
    with pytest.raises(ConfigError, match="did you mean 'twitter2017'"):
        load_run_config(path)


def test_missing_required_key(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", {"run": {"name": "x"}})
    with pytest.raises(ConfigError, match="data: required key missing"):
        load_run_config(path)


def test_inheritance_loop_and_bad_yaml(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", {"base": "b.yaml"})
    write(tmp_path / "b.yaml", {"base": "a.yaml"})
    with pytest.raises(ConfigError, match="loops"):
        load_yaml_with_base(tmp_path / "a.yaml")
    bad = write(tmp_path / "bad.yaml", "run:\n  name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:\d+: not valid YAML"):
        load_yaml_with_base(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_yaml_with_base(tmp_path / "nope.yaml")


def test_malformed_override() -> None:
    with pytest.raises(ConfigError, match="key.sub=value"):
        apply_overrides({}, ["seed"])


def test_resolved_config_validates_again(tmp_path: Path) -> None:
    config = load_run_config(REPO / "configs" / "demo_mner.yaml")
    resolved = write(tmp_path / "resolved.yaml", config_to_yaml(config))
    assert load_run_config(resolved) == config


EXPERIMENTS = sorted(p for p in [*(REPO / "configs").glob("*.yaml"),
                                  *(REPO / "configs" / "paper").glob("*.yaml")]
                     if p.name not in ("base.yaml", "cluster.yaml"))  # bases: no dataset
# What the cluster configs and studies read from the environment.
CLUSTER_ENV = {"COTPD_DATA_ROOT": "/data", "COTPD_MODELS": "/models",
               "COTPD_TEACHER": "/models/teacher",
               "COTPD_TEACHER_URLS": "[http://n1:8000/v1, http://n2:8000/v1]",
               "QWEN_URLS": "[http://q:8000/v1]", "LLAMA_URLS": "[http://l:8000/v1]",
               "CHATGPT_KNOWLEDGE_FILES": "[/k/train.jsonl]"}


@pytest.fixture
def cluster_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CLUSTER_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.parent.name + "/" + p.name)
def test_every_shipped_config_validates(path: Path, cluster_env) -> None:
    load_run_config(path)


PAPER_RUNS = sorted(p for p in (REPO / "configs" / "paper").glob("*.yaml")
                    if p.name != "cluster.yaml")


@pytest.mark.parametrize("path", PAPER_RUNS, ids=lambda p: p.name)
def test_paper_configs_are_the_papers_setup(path: Path, cluster_env) -> None:
    """What README.md and docs/pipeline.md promise of configs/paper/: XLM-R-large, max
    length 512, 15 epochs, batch 32, bf16, DeepSpeed ZeRO-2, BLIP-2 captions and an open
    teacher on the vLLM replicas of COTPD_TEACHER_URLS."""
    config = load_run_config(path)
    train = config.student.train
    assert str(config.student.encoder) == "/models/xlm-roberta-large"
    assert config.student.variant == "cpd" and config.student.views.max_length == 512
    assert (train.epochs, train.batch_size, train.bf16) == (15, 32, "auto")
    zero = REPO / train.deepspeed if train.deepspeed else None
    assert zero is not None and zero.is_file(), train.deepspeed
    assert json.loads(zero.read_text())["zero_optimization"]["stage"] == 2
    assert (config.caption.backend, str(config.caption.model)) == (
        "transformers", "/models/blip2-opt-2.7b")
    assert (config.teacher.backend, str(config.teacher.model)) == ("openai", "/models/teacher")
    assert list(config.teacher.openai.base_urls) == ["http://n1:8000/v1", "http://n2:8000/v1"]
    assert list(config.teacher.knowledge.prompts) == ["noun", "sentence", "multimodal"]
    stem = path.stem
    assert config.run.name == f"paper_{stem}"
    assert config.data.dataset == ("twitter2017" if stem == "cross_domain" else stem)


@pytest.mark.parametrize("path", sorted((REPO / "studies").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_study_cell_validates(path: Path, cluster_env) -> None:
    from cotpd.pipeline.study import cell_config, cells, load_study

    spec = load_study(path)
    grid = cells(spec)
    assert grid
    names = {cell_config(spec, cell, seed).run.name for cell, seed in grid}
    assert len(names) == len(grid)  # every cell has its own run directory


def test_a_study_cell_names_the_cot_cell_of_its_own_seed_as_teacher(cluster_env) -> None:
    from cotpd.pipeline.study import cell_config, cell_id, cells, load_study

    spec = load_study(REPO / "studies" / "ablation_distill.yaml")
    checked = 0
    for cell, seed in cells(spec):
        config = cell_config(spec, cell, seed)
        if config.student.variant.startswith("two_stage"):
            teacher_cell = cell_id({**cell, "variant": "cot"}, seed)
            assert config.student.distill.teacher == (
                spec.directory / "runs" / teacher_cell / "student" / "model")
            checked += 1
    assert checked == 2 * 3 * len(spec.seeds)


def test_a_study_leaves_out_excluded_cells_and_sets_cell_overrides(tmp_path: Path,
                                                                    cluster_env) -> None:
    from cotpd.pipeline.study import cell_config, cells, load_study

    spec = load_study(REPO / "studies" / "teacher_swap_cpu.yaml")
    variants = {(cell["student"], cell["teacher"]): cell_config(spec, cell, seed).student.variant
                for cell, seed in cells(spec)}
    assert variants == {("cot", "none"): "caption", ("distilled", "none"): "text",
                        ("cot", "gemma3-270m"): "cot", ("cot", "chatgpt"): "cot",
                        ("distilled", "gemma3-270m"): "cpd", ("distilled", "chatgpt"): "cpd"}
    grid = tmp_path / "grid.yaml"
    grid.write_text(f"name: grid\nconfig: {REPO / 'configs' / 'demo.yaml'}\n"
                    "axes: {teacher: {a: {}, b: {}}, student: {x: {}, y: {}}}\n"
                    "exclude: [{teacher: b, student: y}]\nseeds: [1, 2]\n")
    assert [(c["teacher"], c["student"]) for c, s in cells(load_study(grid)) if s == 1] == [
        ("a", "x"), ("a", "y"), ("b", "x")]
    for field, entry in (("exclude", "[{teacher: c}]"),
                         ("cell_overrides", "[{where: {teacher: c}, set: {run.seed: 1}}]"),
                         ("compare_to", "{teacher: c}"),
                         ("retention_of", "{teacher: c}")):
        bad = tmp_path / f"bad_{field}.yaml"
        bad.write_text(f"name: bad\nconfig: {REPO / 'configs' / 'demo.yaml'}\n"
                       f"axes: {{teacher: {{a: {{}}}}}}\n{field}: {entry}\n")
        with pytest.raises(ConfigError, match=f"{field} names teacher=c"):
            load_study(bad)
    # Retention is a share of one arm's gain over compare_to's arm: both must be named.
    for extra in ("", "compare_to: {teacher: a}\n"):
        bad = tmp_path / "bad_retention.yaml"
        bad.write_text(f"name: bad\nconfig: {REPO / 'configs' / 'demo.yaml'}\n"
                       f"axes: {{teacher: {{a: {{}}, b: {{}}}}}}\n{extra}"
                       "retention_of: {teacher: a}\n")
        with pytest.raises(ConfigError, match="retention_of names teacher=a; it needs "
                                              "compare_to to name another arm of teacher"):
            load_study(bad)


def test_environment_references_expand_and_name_what_is_unset(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COTPD_MODELS", "/models")
    monkeypatch.setenv("COTPD_TEACHER_URLS", "[http://a:1/v1, http://b:1/v1]")
    monkeypatch.delenv("COTPD_TEACHER", raising=False)
    with pytest.raises(ConfigError, match=r"teacher.model refers to \$\{COTPD_TEACHER\}"):
        load_run_config(REPO / "configs" / "paper" / "twitter2017.yaml")
    monkeypatch.setenv("COTPD_TEACHER", "/models/qwen")
    config = load_run_config(REPO / "configs" / "paper" / "twitter2017.yaml")
    assert config.student.encoder == "/models/xlm-roberta-large"
    assert config.teacher.openai.base_urls == ["http://a:1/v1", "http://b:1/v1"]


def test_unset_variable_stops_only_the_stages_that_read_its_key(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Training never asks the teacher, so the server URL may be unset for it; teach and a
    full run still name the key and the variable before any stage starts."""
    from cotpd.pipeline.stages import STAGE_READS

    monkeypatch.setenv("COTPD_MODELS", "/models")
    monkeypatch.setenv("COTPD_TEACHER", "/models/qwen")
    monkeypatch.delenv("COTPD_TEACHER_URLS", raising=False)
    paper = REPO / "configs" / "paper" / "twitter2017.yaml"
    with pytest.raises(ConfigError, match=r"base_urls refers to \$\{COTPD_TEACHER_URLS\}"):
        load_run_config(paper)  # loaded for every stage: strict, as before
    config = load_run_config(paper, defer_unset=True)
    assert config.unset_variables == {"teacher.openai.base_urls": "COTPD_TEACHER_URLS"}
    assert config.teacher.openai.base_urls == ["${COTPD_TEACHER_URLS}"]  # as written
    for stage in ("caption", "train", "evaluate"):
        config.require_set(STAGE_READS[stage], stage)
    for stage in ("teach", "augment"):
        with pytest.raises(ConfigError, match=rf"teacher.openai.base_urls refers to "
                                              rf"\$\{{COTPD_TEACHER_URLS\}}, which is not set "
                                              rf"\(the {stage} stage reads it\)"):
            config.require_set(STAGE_READS[stage], stage)


def test_train_command_runs_without_the_teacher_url(cotpd, monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    """`cotpd train` of a paper config gets past the config (to the missing data root here);
    `cotpd teach` and `cotpd run` stop at the unset URL, exit 2, naming it."""
    monkeypatch.setenv("COTPD_MODELS", str(tmp_path))
    monkeypatch.setenv("COTPD_TEACHER", str(tmp_path / "teacher"))
    monkeypatch.delenv("COTPD_TEACHER_URLS", raising=False)
    monkeypatch.delenv("COTPD_DATA_ROOT", raising=False)
    paper = REPO / "configs" / "paper" / "twitter2017.yaml"
    out = f"run.output_dir={tmp_path / 'runs'}"
    trained = cotpd("train", paper, "--set", out)
    assert trained.exit_code == 2 and "needs a data root" in trained.err
    assert "COTPD_TEACHER_URLS" not in trained.err
    for command in (["teach"], ["run"], ["run", "--only", "teach"]):
        result = cotpd(*command, paper, "--set", out)
        assert result.exit_code == 2
        assert "teacher.openai.base_urls refers to ${COTPD_TEACHER_URLS}" in result.err
    assert cotpd("run", paper, "--only", "train", "--set", out).exit_code == 2


def test_a_study_table_gives_each_arm_its_share_of_the_target_arms_gain(tmp_path: Path) -> None:
    from cotpd.pipeline.study import load_study, write_study_outputs

    study = tmp_path / "grid.yaml"
    study.write_text(f"name: grid\nconfig: {REPO / 'configs' / 'demo.yaml'}\n"
                     f"output_dir: {tmp_path / 'studies'}\n"
                     "axes: {student: {text: {}, cot: {}, distilled: {}}}\n"
                     "compare_to: {student: text}\nretention_of: {student: cot}\n"
                     "seeds: [1, 2]\nmetrics: [test.f1]\n")
    scores = {("text", 1): 0.78, ("text", 2): 0.76, ("cot", 1): 0.80, ("cot", 2): 0.80,
              ("distilled", 1): 0.79, ("distilled", 2): 0.79}
    results = [{"cell": {"student": arm}, "seed": seed, "run": f"runs/{arm}-{seed}",
                "scores": {"test.f1": f1}} for (arm, seed), f1 in scores.items()]
    text = write_study_outputs(load_study(study), results, [])["text"]
    section = text.split("## Share of student=cot's gain kept (R)")[1]
    # distilled gains +1 and +3 where cot gains +2 and +4: R = 4 / 6.
    assert "| distilled | 1, 2 | 0.67 (0.50, 0.75) |" in section
    assert "| cot |" not in section and "| text |" not in section
    assert (tmp_path / "studies" / "grid" / "table.md").read_text() == text
