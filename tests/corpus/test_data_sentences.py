"""`cotpd data sentences`: a dataset split's distinct sentences as a plain-text
unlabelled-sentences file (MNRE's tweets, one per tweet however many pairs it has)."""

import ast
from pathlib import Path

from cotpd.corpus.records import MnerSample
from cotpd.corpus.unlabelled import distinct_sentences, read_unlabelled, sentence_key

REPO = Path(__file__).resolve().parents[2]


def test_distinct_sentences_counts_repeats() -> None:
    samples = [MnerSample(id=str(i), tokens=text.split(), labels=["O"] * len(text.split()),
                          image_id=None)
               for i, text in enumerate(["a b", "A  b", "c", "a b", "d"])]
    assert distinct_sentences(samples) == ([["a", "b"], ["c"], ["d"]], 2)


def test_mnre_train_tweets_written_once(tmp_path: Path, cotpd) -> None:
    out = tmp_path / "tweets.txt"
    result = cotpd("data", "sentences", "demo_mnre", "--data-root", REPO / "data", "-o", out)
    assert result.exit_code == 0, result.err
    lines = (REPO / "data" / "demo_mnre" / "train.txt").read_text(encoding="utf-8").splitlines()
    tweets = {sentence_key(ast.literal_eval(line)["token"]) for line in lines if line.strip()}
    written = read_unlabelled([out])
    assert sorted(sentence_key(s.tokens) for s in written) == sorted(tweets)
    assert f"{len(tweets)} sentences of {len(lines)} instances (train; " \
           f"{len(lines) - len(tweets)} repeats written once)" in result.out


def test_a_missing_split_is_named(tmp_path: Path, cotpd) -> None:
    folder = tmp_path / "mnre"
    folder.mkdir()
    (folder / "mnre_train.txt").write_text(
        (REPO / "data" / "demo_mnre" / "train.txt").read_text(encoding="utf-8"))
    result = cotpd("data", "sentences", "mnre", "--split", "test", "--data-root", tmp_path,
                   "-o", tmp_path / "x.txt")
    assert result.exit_code != 0 and "mnre_test.txt" in result.err
    assert not (tmp_path / "x.txt").exists()


def test_a_runs_prepared_splits_as_sentences(tmp_path: Path, cotpd) -> None:
    from cotpd.corpus.config import DataConfig
    from cotpd.corpus.prepare import prepare_dataset

    data_dir = prepare_dataset(DataConfig(dataset="demo_mnre", dev_from_train_fraction=0.2),
                               tmp_path / "run").data_dir
    out = tmp_path / "tweets.txt"
    files = [data_dir / "train.jsonl", data_dir / "dev.jsonl"]
    result = cotpd("data", "sentences", *files, "-o", out)
    assert result.exit_code == 0, result.err
    assert len(read_unlabelled([out])) == 75  # train and its held-out dev: every train tweet
    assert "sentences of 90 instances" in result.out
    refused = cotpd("data", "sentences", "demo_mnre", "extra.txt", "-o", out)
    assert refused.exit_code != 0 and "JSONL sample files" in refused.err
