"""data.dev_from_train_fraction: a seeded dev split held out of train, whole sentences at a
time, with the dataset's own dev evaluated as `official_dev`."""

import json
from pathlib import Path

import pytest
from cotpd.corpus.config import DataConfig
from cotpd.corpus.prepare import prepare_dataset
from cotpd.corpus.records import Mention, MreSample
from cotpd.corpus.subsets import hold_out_dev

REPO = Path(__file__).resolve().parents[2]


def tweets(count: int, pairs: int) -> list[MreSample]:
    """`count` tweets with `pairs` instances each."""
    return [MreSample(id=f"t{t}-{p}", tokens=[f"word{t}", "and", "more"],
                      head=Mention(f"word{t}", 0, 1), tail=Mention("more", 2, 3),
                      relation="None", image_id=None)
            for t in range(count) for p in range(pairs)]


def test_held_out_dev_keeps_a_tweets_instances_together() -> None:
    samples = tweets(40, 3)
    train, dev = hold_out_dev(samples, 0.1, seed=7)
    assert len(dev) == 12 and len(train) == 108  # 4 tweets of 3 instances
    assert {s.tokens[0] for s in dev}.isdisjoint({s.tokens[0] for s in train})
    assert [s.id for s in dev] == sorted((s.id for s in dev), key=[x.id for x in samples].index)
    assert hold_out_dev(samples, 0.1, seed=7) == (train, dev)
    assert hold_out_dev(samples, 0.1, seed=8)[1] != dev
    assert len(hold_out_dev(tweets(2, 1), 0.9, seed=0)[0]) == 1  # train keeps one sentence


def test_prepare_holds_out_dev_and_keeps_the_official_dev(tmp_path: Path) -> None:
    config = DataConfig(dataset="demo_mnre", dev_from_train_fraction=0.1, dev_from_train_seed=3)
    report = prepare_dataset(config, tmp_path).report
    splits = report["splits"]
    assert splits["official_dev"]["sentences"] == 30 and splits["test"]["sentences"] == 30
    assert splits["train"]["sentences"] + splits["dev"]["sentences"] == 90
    assert 9 <= splits["dev"]["sentences"] <= 12
    assert report["dev_from_train"]["held_out"] == splits["dev"]["sentences"]
    assert "dev_from_train" in report["fingerprints"]

    def texts(split: str) -> set[str]:
        lines = (tmp_path / "data" / f"{split}.jsonl").read_text().splitlines()
        return {" ".join(json.loads(line)["tokens"]) for line in lines}

    assert texts("dev").isdisjoint(texts("train"))
    again = prepare_dataset(config, tmp_path)
    assert again.skipped


def test_the_fraction_is_checked() -> None:
    with pytest.raises(ValueError, match="dev_from_train_fraction = 1.0"):
        DataConfig(dataset="demo_mnre", dev_from_train_fraction=1.0)


def test_the_official_dev_is_evaluated(tmp_path: Path, tiny_encoder: Path, cotpd) -> None:
    args = [str(REPO / "configs" / "demo_mnre.yaml"), "--set", f"run.output_dir={tmp_path}",
            "--set", f"student.encoder={tiny_encoder}", "--set", "student.variant=text",
            "--set", "data.dev_from_train_fraction=0.1",
            "--set", "student.train.max_steps=2", "--set", "student.train.eval_steps=2",
            "--set", "student.train.batch_size=8"]
    assert cotpd("train", *args).exit_code == 0
    result = cotpd("evaluate", *args)
    assert result.exit_code == 0, result.err[-2000:]
    metrics = json.loads((tmp_path / "demo_mnre" / "metrics.json").read_text())
    assert set(metrics["splits"]) == {"dev", "official_dev", "test"}
    assert metrics["headline"]["split"] == "test"
