"""The real datasets in ../shared/data (skipped when the folder is absent)."""

import json
from pathlib import Path

import pytest

from corpus.conll import format_conll, read_conll
from corpus.mnre import format_mnre, read_mnre

pytestmark = pytest.mark.shared_data


def test_twitter2017_stats(shared_data: Path, cotpd) -> None:
    result = cotpd("data", "stats", shared_data / "twitter2017", "--json")
    assert result.exit_code == 0, result.err
    stats = json.loads(result.out)
    assert stats["task"] == "mner"
    sizes = {split: s["sentences"] for split, s in stats["splits"].items()}
    assert sizes == {"train": 3373, "dev": 723, "test": 723}
    assert set(stats["splits"]["train"]["label_counts"]) == {"PER", "LOC", "ORG", "MISC"}
    # Every B- starts an entity; the counts agree with a plain count of B- labels.
    begins = sum(line.split("\t")[1].startswith("B-") for line in
                 (shared_data / "twitter2017" / "train.txt").read_text().splitlines()
                 if "\t" in line)
    assert sum(stats["splits"]["train"]["label_counts"].values()) >= begins


def test_mnre_stats(shared_data: Path, cotpd) -> None:
    result = cotpd("data", "stats", shared_data / "mnre", "--json")
    assert result.exit_code == 0, result.err
    stats = json.loads(result.out)
    assert stats["task"] == "mre"
    assert stats["splits"]["train"]["sentences"] == 12247
    assert stats["splits"]["dev"]["sentences"] == 1624
    labels = json.loads((shared_data / "mnre" / "ours_rel2id.json").read_text())
    assert set(stats["splits"]["train"]["label_counts"]) == set(labels)


@pytest.mark.parametrize("split", ["train.txt", "valid.txt", "test.txt"])
def test_twitter2017_round_trip(shared_data: Path, split: str) -> None:
    path = shared_data / "twitter2017" / split
    result = read_conll(path, entity_types={"PER", "LOC", "ORG", "MISC"})
    assert format_conll(result.samples, result.newline).encode("utf-8") == path.read_bytes()


@pytest.mark.parametrize("split", ["mnre_train.txt", "mnre_val .txt"])
def test_mnre_round_trip(shared_data: Path, split: str) -> None:
    path = shared_data / "mnre" / split
    assert format_mnre(read_mnre(path).samples).encode("utf-8") == path.read_bytes()
