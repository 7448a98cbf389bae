"""A labelled fraction of the training split and the unlabelled transfer set: nested seeded
subsets, what is dropped and counted, the config's checks, and a run end to end (the rest
of train and a plain-text file taught, then distilled into a student that is reloaded)."""

import json
from pathlib import Path

import pytest
from cotpd.corpus.config import DataConfig
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.prepare import prepare_dataset
from cotpd.corpus.records import MnerSample
from cotpd.corpus.subsets import labelled_count, split_labelled, transfer_set
from cotpd.corpus.unlabelled import read_unlabelled, sentence_key
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.fake_openai_server import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "demo_mner.yaml"


def _sample(text: str, sample_id: str = "") -> MnerSample:
    tokens = text.split()
    return MnerSample(id=sample_id or text, tokens=tokens, labels=["O"] * len(tokens),
                      image_id=None)


@given(st.integers(1, 200), st.floats(0.01, 1.0), st.floats(0.01, 1.0), st.integers(0, 5))
def test_a_smaller_fraction_is_inside_a_larger_one(total, f1, f2, seed) -> None:
    samples = [_sample(f"s{i}") for i in range(total)]
    small, large = sorted((f1, f2))
    a, rest_a = split_labelled(samples, labelled_count(total, small, None), seed)
    b, _ = split_labelled(samples, labelled_count(total, large, None), seed)
    assert {s.id for s in a} <= {s.id for s in b}
    assert len(a) + len(rest_a) == total and len(a) >= 1
    assert [s.id for s in a] == [s.id for s in samples if s in a]  # the file's order


def test_counts() -> None:
    assert labelled_count(3373, 0.1, None) == 337 and labelled_count(3373, 0.25, None) == 843
    assert labelled_count(10, None, 4) == 4 and labelled_count(10, None, 40) == 10
    assert labelled_count(10, None, None) == 10 and labelled_count(3, 0.01, None) == 1


def test_transfer_set_drops_and_counts() -> None:
    held_out, labelled = [_sample("RT @nba : Kawhi wins")], [_sample("Paris today")]
    candidates = [_sample("rt @NBA: kawhi wins", "a"), _sample("paris TODAY", "b"),
                  _sample("new tweet", "c"), _sample("new  tweet", "d"), _sample("other", "e")]
    kept = transfer_set(candidates, labelled, held_out)
    assert [s.id for s in kept.samples] == ["c", "e"]
    assert kept.dropped == {"dev_or_test": 1, "labelled": 1, "repeated": 1}
    assert kept.to_dict()["dropped_examples"] == ["a (dev_or_test)", "b (labelled)",
                                                  "d (repeated)"]
    assert sentence_key(["RT", "@nba", ":"]) == sentence_key(["rt", "@NBA:"])


def test_plain_text_and_jsonl(tmp_path: Path) -> None:
    text = tmp_path / "tweets.txt"
    text.write_text("Kawhi Leonard wins MVP\n\n  Drake   in Toronto \n")
    jsonl = tmp_path / "more.jsonl"
    jsonl.write_text(json.dumps({"tokens": ["Hi", "Paris"], "knowledge": "Paris: a city."})
                     + "\n")
    samples = read_unlabelled([text, jsonl])
    assert [s.tokens for s in samples] == [["Kawhi", "Leonard", "wins", "MVP"],
                                          ["Drake", "in", "Toronto"], ["Hi", "Paris"]]
    assert samples[1].id == "tweets.txt:3" and samples[2].context.knowledge == "Paris: a city."


def test_config_checks(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not both"):
        DataConfig(dataset="demo_mner", labelled_fraction=0.1, labelled_count=3)
    with pytest.raises(ValidationError, match=r"fraction in \(0, 1\]"):
        DataConfig(dataset="demo_mner", labelled_fraction=1.5)
    with pytest.raises(ValidationError, match="needs data.labelled_fraction"):
        DataConfig(dataset="demo_mner", rest_as_unlabelled=True)
    relations = DataConfig(dataset="demo_mnre", labelled_fraction=0.5, rest_as_unlabelled=True)
    with pytest.raises(CotpdError, match="for MNER datasets"):
        prepare_dataset(relations, tmp_path / "run")
    missing = DataConfig(dataset="demo_mner", unlabelled=[tmp_path / "absent.txt"])
    with pytest.raises(CotpdError, match="absent.txt does not exist"):
        prepare_dataset(missing, tmp_path / "run2")


def test_prepare_writes_the_subset_and_the_transfer_set(tmp_path: Path) -> None:
    tweets = tmp_path / "tweets.txt"
    test_sentence = (REPO / "data" / "demo_mner" / "test.txt").read_text().split("\n\n")[0]
    words = [line.split("\t")[0] for line in test_sentence.splitlines()[1:]]
    tweets.write_text(f"Fresh tweet about nothing\n{' '.join(words)}\nFresh tweet about "
                      "nothing\n")
    config = DataConfig(dataset="demo_mner", labelled_fraction=0.25, rest_as_unlabelled=True,
                        unlabelled=[tweets])
    report = prepare_dataset(config, tmp_path / "run").report
    assert report["labelled"] == {"of": 90, "kept": 22, "sentences": 22, "fraction": 0.25,
                                  "count": None, "seed": 0}
    assert report["unlabelled"]["from_train"] == 68 and report["unlabelled"]["from_files"] == 3
    assert report["unlabelled"]["dropped"] == {"dev_or_test": 1, "labelled": 0, "repeated": 1}
    assert report["splits"]["unlabelled"]["sentences"] == 69
    assert report["splits"]["train"]["sentences"] == 22
    lines = (tmp_path / "run" / "data" / "unlabelled.jsonl").read_text().splitlines()
    assert all(set(json.loads(line)["labels"]) == {"O"} for line in lines)
    smaller = DataConfig(dataset="demo_mner", labelled_fraction=0.1)
    prepare_dataset(smaller, tmp_path / "small")
    ids = {json.loads(line)["id"] for line in
           (tmp_path / "small" / "data" / "train.jsonl").read_text().splitlines()}
    larger = {json.loads(line)["id"] for line in
              (tmp_path / "run" / "data" / "train.jsonl").read_text().splitlines()}
    assert len(ids) == 9 and ids <= larger


def test_the_transfer_set_is_taught_and_distilled(tmp_path: Path, tiny_encoder: Path,
                                                  cotpd) -> None:
    tweets = tmp_path / "tweets.txt"
    tweets.write_text("Lena Ortiz opens a bakery in Lisbon\nThe Hawks sign a new coach\n")
    data = ["--set", f"run.output_dir={tmp_path}", "--set", "data.labelled_fraction=0.25",
            "--set", "data.rest_as_unlabelled=true", "--set", f"data.unlabelled=[{tweets}]"]
    with FakeOpenAIServer() as server:
        taught = cotpd("teach", str(CONFIG), *data, "--set", "teacher.backend=openai",
                       "--set", "teacher.name=fake", "--set",
                       f"teacher.openai.base_urls=[{server.url}]", "--set",
                       "teacher.openai.model=fake", "--set", "teacher.knowledge.prompts=[sentence]")
    assert taught.exit_code == 0, taught.err[-2000:]
    knowledge = (tmp_path / "demo_mner" / "teacher" / "knowledge.jsonl").read_text()
    assert "tweets.txt:1" in knowledge and len(knowledge.splitlines()) == 22 + 30 + 30 + 70
    student = ["--set", f"student.encoder={tiny_encoder}", "--set", "student.variant=cpd",
               "--set", "student.views.context_order=[knowledge]",
               "--set", "student.train.max_steps=3", "--set", "student.train.eval_steps=3"]
    result = cotpd("run", str(CONFIG), "--only", "train,evaluate", *data, *student)
    assert result.exit_code == 0, result.err[-3000:]
    run_dir = tmp_path / "demo_mner"
    report = json.loads((run_dir / "student" / "train_report.json").read_text())
    assert report["unlabelled_sentences"] == 70 and report["unlabelled_unused"] == 0
    assert report["context"]["unlabelled"]["with_knowledge"] == 70
    metrics = json.loads((run_dir / "metrics.json").read_text())  # the reloaded student
    assert metrics["headline"]["split"] == "test"
    # seen vs unseen counts against the 22 labelled sentences, not the whole split
    groups = metrics["seen_unseen"]["test"]
    assert groups["seen"]["micro"]["n_gold"] + groups["unseen"]["micro"]["n_gold"] == 63
    text = cotpd("train", str(CONFIG), *data, *student, "--set", "student.variant=text",
                 "--set", "run.name=text_only")
    assert text.exit_code == 0, text.err[-3000:]
    assert "unlabelled sentences are not used" in text.err
    report = json.loads((tmp_path / "text_only" / "student" / "train_report.json").read_text())
    assert report["unlabelled_unused"] == 70 and report["unlabelled_sentences"] == 0


def test_the_two_stage_student_scores_the_transfer_set(tmp_path: Path, tiny_encoder: Path,
                                                       demo_context, cotpd) -> None:
    _, knowledge = demo_context
    common = ["--set", f"run.output_dir={tmp_path}", "--set", f"student.encoder={tiny_encoder}",
              "--set", "data.labelled_fraction=0.25", "--set", f"student.context.knowledge="
              f"[{knowledge}]", "--set", "student.views.context_order=[knowledge]",
              "--set", "student.train.max_steps=2", "--set", "student.train.eval_steps=2"]
    cot = cotpd("train", str(CONFIG), *common, "--set", "student.variant=cot",
                "--set", "run.name=cot")
    assert cot.exit_code == 0, cot.err[-3000:]
    result = cotpd("train", str(CONFIG), *common, "--set", "student.variant=two_stage",
                   "--set", "data.rest_as_unlabelled=true", "--set", "run.name=two_stage",
                   "--set", f"student.distill.teacher={tmp_path / 'cot' / 'student' / 'model'}")
    assert result.exit_code == 0, result.err[-3000:]
    report = json.loads((tmp_path / "two_stage" / "student" / "train_report.json").read_text())
    assert report["unlabelled_sentences"] == 68
    assert report["recipe"]["teacher_cache"]["sentences"] == str(22 + 68)
    assert report["labelled_repeats"] == 1 and report["taught_samples"] == 22 + 68
    # The labelled sentences drawn three times per epoch; the cached scores are reused.
    cache = tmp_path / "two_stage" / "student" / "teacher_cache"
    again = cotpd("train", str(CONFIG), *common, "--set", "student.variant=two_stage",
                  "--set", "data.rest_as_unlabelled=true", "--set", "run.name=repeats",
                  "--set", f"student.distill.teacher={tmp_path / 'cot' / 'student' / 'model'}",
                  "--set", "student.distill.labelled_repeats=3",
                  "--set", f"student.distill.cache_dir={cache}")
    assert again.exit_code == 0, again.err[-3000:]
    report = json.loads((tmp_path / "repeats" / "student" / "train_report.json").read_text())
    assert report["labelled_repeats"] == 3 and report["taught_samples"] == 3 * 22 + 68
    assert "x3 per epoch" in report["recipe"]["loss"] and report["recipe"]["teacher_cache"][
        "reused"]
