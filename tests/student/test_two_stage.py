"""Two-stage distillation through `cotpd train`: a knowledge-view teacher scores the training
sentences once, the cache is reused by later students and refused when it does not match,
cross-fitted teachers, and KL-only distillation on unlabelled sentences."""

import json
from pathlib import Path

import pytest
from cotpd.corpus.registry import get_dataset, read_split
from cotpd.student.predict import StudentPredictor

from tests.student.test_student_training import train_args


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory: pytest.TempPathFactory, tiny_encoder: Path, demo_context,
                ) -> Path:
    """A +CoT (knowledge view) student trained for a few steps."""
    from cotpd.pipeline.cli import main

    folder = tmp_path_factory.mktemp("teacher")
    try:
        main(train_args(folder, tiny_encoder, demo_context, "cot",
                        "--set", "student.variant=cot"))
    except SystemExit as stop:
        assert not stop.code
    return folder / "cot" / "student" / "model"


def two_stage(tmp_path: Path, encoder: Path, context, name: str, *extra: str) -> list[str]:
    return train_args(tmp_path, encoder, context, name, "--set", "student.variant=two_stage",
                      *extra)


def report_of(tmp_path: Path, name: str) -> dict:
    return json.loads((tmp_path / name / "student" / "train_report.json").read_text())


def test_two_stage_trains_on_cached_teacher_and_predicts_from_text(
        tmp_path: Path, tiny_encoder: Path, demo_context, teacher_dir: Path, cotpd) -> None:
    cache = tmp_path / "cache"
    args = ("--set", f"student.distill.teacher={teacher_dir}",
            "--set", f"student.distill.cache_dir={cache}")
    result = cotpd(*two_stage(tmp_path, tiny_encoder, demo_context, "first", *args))
    assert result.exit_code == 0, result.err[-2000:]
    report = report_of(tmp_path, "first")
    assert report["infer_view"] == "text" and report["distill_view"] is None
    cached = report["recipe"]["teacher_cache"]
    assert cached["reused"] is False and cached["sentences"] == "90"
    assert "KL" in report["recipe"]["loss"] and "cached knowledge view" in report["recipe"]["loss"]
    # Every logged step has the parts of the loss beside the total.
    assert report["loss_log"] and all({"nll", "kl"} <= set(e) for e in report["loss_log"])
    meta = json.loads((tmp_path / "first" / "student" / "model" / "student.json").read_text())
    assert meta["recipe"]["teacher_cache"]["teacher"] == cached["teacher"]
    # Reloaded, it reads text only: no caption, no knowledge.
    predictor = StudentPredictor.load(tmp_path / "first" / "student" / "model")
    assert predictor.view == "text" and not predictor.needs_context
    records = predictor.predict_entities(["Messi scores again in Paris"])
    assert len(records[0]["labels"]) == 5
    # A second student with another seed reuses the cached distributions.
    again = cotpd(*two_stage(tmp_path, tiny_encoder, demo_context, "second", *args,
                             "--set", "run.seed=7"))
    assert again.exit_code == 0, again.err[-2000:]
    second = report_of(tmp_path, "second")["recipe"]["teacher_cache"]
    assert second["reused"] is True and second["path"] == cached["path"]
    assert len(list(cache.glob("*.safetensors"))) == 1


def test_a_changed_teacher_or_data_is_never_served_from_the_cache(
        tmp_path: Path, tiny_encoder: Path, demo_context, teacher_dir: Path) -> None:
    import shutil

    from cotpd.corpus.context_files import attach_context, load_captions, load_knowledge_files
    from cotpd.corpus.errors import CotpdError
    from cotpd.student.teacher_scores import teacher_scores

    samples = read_split(get_dataset("demo_mner"), "train").samples[:6]
    captions, knowledge = demo_context
    attach_context(samples, load_captions(captions), load_knowledge_files([knowledge]))
    labels = json.loads((teacher_dir / "student.json").read_text())["labels"]
    first = teacher_scores(teacher_dir, samples, labels, tmp_path / "cache")
    assert not first.reused and len(first.logprobs) == 6
    assert all(v.shape == (len(s.tokens), len(labels))
               for v, s in zip(first.logprobs, samples, strict=True))
    assert teacher_scores(teacher_dir, samples, labels, tmp_path / "cache").reused
    # Other data: another key, scored afresh.
    other_data = teacher_scores(teacher_dir, samples[:5], labels, tmp_path / "cache")
    assert not other_data.reused and other_data.path != first.path
    # Another teacher (changed weights): another key, scored afresh.
    changed = tmp_path / "changed"
    shutil.copytree(teacher_dir, changed)
    from safetensors.torch import load_file, save_file
    weights = load_file(str(changed / "model.safetensors"))
    weights["head.classifier.bias"] += 1.0
    save_file(weights, str(changed / "model.safetensors"))
    other_teacher = teacher_scores(changed, samples, labels, tmp_path / "cache")
    assert not other_teacher.reused and other_teacher.path != first.path
    # A file under a key whose recorded fingerprints differ (copied over) is refused.
    shutil.copy(other_teacher.path, first.path)
    with pytest.raises(CotpdError, match="refused, written for another teacher"):
        teacher_scores(teacher_dir, samples, labels, tmp_path / "cache")
    # Sentences without any knowledge: the teacher would teach blind guesses, refused.
    bare = read_split(get_dataset("demo_mner"), "dev").samples[:3]
    with pytest.raises(CotpdError, match="none of the 3 sentences it scores has one"):
        teacher_scores(teacher_dir, bare, labels, tmp_path / "cache")
    # Different labels from the same teacher: refused before scoring.
    with pytest.raises(CotpdError, match="labels"):
        teacher_scores(teacher_dir, samples[:4], labels[::-1], tmp_path / "cache")


def test_a_teacher_must_read_knowledge(tmp_path: Path, tiny_encoder: Path, demo_context,
                                       cotpd) -> None:
    assert cotpd(*train_args(tmp_path, tiny_encoder, demo_context, "text",
                             "--set", "student.variant=text")).exit_code == 0
    result = cotpd(*two_stage(tmp_path, tiny_encoder, demo_context, "bad", "--set",
                              f"student.distill.teacher={tmp_path / 'text/student/model'}"))
    assert result.exit_code == 2 and "must be a knowledge-view student" in result.err


def test_cross_fitted_teachers_score_the_fold_they_did_not_see(
        tmp_path: Path, tiny_encoder: Path, demo_context, cotpd) -> None:
    result = cotpd(*two_stage(tmp_path, tiny_encoder, demo_context, "folds",
                              "--set", "student.distill.folds=2",
                              "--set", "student.variant=two_stage_prompt"))
    assert result.exit_code == 0, result.err[-2000:]
    report = report_of(tmp_path, "folds")
    assert report["infer_view"] == "prompt"
    assert report["recipe"]["teacher_cache"]["teacher"].startswith("in-run:")
    folds = list((tmp_path / "folds" / "student" / "teacher_cache").glob("folds_*/fold*/model"))
    assert len(folds) == 2 and all((f / "student.json").is_file() for f in folds)
    (plan,) = (tmp_path / "folds" / "student" / "teacher_cache").glob("folds_*/folds.json")
    # Each teacher trained on one half and scored the other: no sentence scored by a teacher
    # that saw its gold labels.
    assert [(f["trained_on"], f["scored"]) for f in json.loads(plan.read_text())] == [
        (45, 45), (45, 45)]


def test_one_teacher_trained_in_the_run_makes_two_stage_self_contained(
        tmp_path: Path, tiny_encoder: Path, demo_context, cotpd) -> None:
    args = two_stage(tmp_path, tiny_encoder, demo_context, "one", "--set",
                     "student.distill.folds=1")
    assert cotpd(*args).exit_code == 0
    cache = tmp_path / "one" / "student" / "teacher_cache"
    (plan,) = cache.glob("folds_*/folds.json")
    assert json.loads(plan.read_text()) == [{"fold": 0, "trained_on": 90, "scored": 90}]
    assert "a teacher trained in the run" in report_of(tmp_path, "one")["recipe"]["loss"]
    # Trained again from scratch, the student reuses the teacher's cached scores.
    plan.unlink()
    assert cotpd(*args, "--set", "student.train.resume=false").exit_code == 0
    assert report_of(tmp_path, "one")["recipe"]["teacher_cache"]["reused"] is True
    assert not plan.exists()


def test_unlabelled_sentences_teach_by_kl_only_and_never_come_from_dev_or_test(
        tmp_path: Path, tiny_encoder: Path, demo_context, teacher_dir: Path, cotpd) -> None:
    extra = tmp_path / "extra.jsonl"
    extra.write_text("\n".join(json.dumps(r) for r in [
        {"tokens": ["Lionel", "Messi", "joins", "Inter", "Miami"],
         "knowledge": "Lionel Messi: a footballer. Inter Miami: a football club."},
        {"tokens": ["Taylor", "Swift", "sings", "in", "Tokyo"], "knowledge": "A singer."},
    ]) + "\n")
    for variant, more in (("cpd", ()), ("two_stage",
                                        ("--set", f"student.distill.teacher={teacher_dir}"))):
        result = cotpd(*train_args(tmp_path, tiny_encoder, demo_context, variant,
                                   "--set", f"student.variant={variant}",
                                   "--set", f"student.distill.unlabelled=[{extra}]", *more))
        assert result.exit_code == 0, result.err[-2000:]
        report = report_of(tmp_path, variant)
        assert report["unlabelled_sentences"] == 2
        assert "unlabelled" in report["recipe"]["loss"]
    # A dev sentence among them is refused.
    dev = read_split(get_dataset("demo_mner"), "dev").samples[0]
    extra.write_text(json.dumps({"tokens": dev.tokens, "knowledge": "x"}) + "\n")
    result = cotpd(*train_args(tmp_path, tiny_encoder, demo_context, "leak",
                               "--set", f"student.distill.unlabelled=[{extra}]"))
    assert result.exit_code == 2 and "dev or test sentences" in result.err


def test_a_bad_unlabelled_line_names_its_file_and_line(tmp_path: Path) -> None:
    from cotpd.corpus.errors import DataFormatError
    from cotpd.corpus.unlabelled import read_unlabelled

    path = tmp_path / "u.jsonl"
    path.write_text('{"tokens": ["a", "b"], "knowledge": "k"}\n\n{"tokens": []}\n')
    with pytest.raises(DataFormatError, match=r"u.jsonl:3: found tokens = \[\]"):
        read_unlabelled([path])
    path.write_text('{"tokens": ["a"], "knowledge": 3}\n')
    with pytest.raises(DataFormatError, match=r"u.jsonl:1: found knowledge = 3"):
        read_unlabelled([path])
    path.write_text('{"tokens": ["a", "b"], "caption": "c"}\n')
    (sample,) = read_unlabelled([path])
    assert sample.context.caption == "c" and sample.id == "u.jsonl:1"


def test_two_stage_mre_learns_the_cached_relation_distribution(tmp_path: Path,
                                                               tiny_encoder: Path, cotpd
                                                               ) -> None:
    from tests.student.test_student_training import REPO, write_mre_knowledge

    knowledge = write_mre_knowledge(tmp_path / "knowledge.jsonl")

    def mre(name: str, *extra: str) -> list[str]:
        return ["train", str(REPO / "configs" / "demo_mnre.yaml"), "--set",
                f"run.output_dir={tmp_path}", "--set", f"run.name={name}",
                "--set", f"student.encoder={tiny_encoder}", "--set", "student.train.max_steps=3",
                "--set", f"student.context.knowledge=[{knowledge}]",
                "--set", "student.views.context_order=[knowledge]", "--set",
                "student.train.eval_steps=3", "--set", "student.train.batch_size=8",
                "--set", "student.train.logging_steps=1", *extra]

    assert cotpd(*mre("cot", "--set", "student.variant=cot")).exit_code == 0
    result = cotpd(*mre("kd", "--set", "student.variant=two_stage", "--set",
                        f"student.distill.teacher={tmp_path / 'cot/student/model'}"))
    assert result.exit_code == 0, result.err[-2000:]
    report = report_of(tmp_path, "kd")
    assert report["infer_view"] == "text" and report["recipe"]["teacher_cache"]["reused"] is False
    assert all(entry["kl"] >= 0 for entry in report["loss_log"])
    pred = tmp_path / "pred.txt"
    gold = REPO / "data" / "demo_mnre" / "test.txt"
    assert cotpd("predict", "--model", tmp_path / "kd/student/model", "--input", gold,
                 "--output", pred).exit_code == 0
