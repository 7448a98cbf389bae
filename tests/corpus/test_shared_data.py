"""The real datasets under --data-root / $COTPD_DATA_ROOT (skipped without one)."""

import ast
import json
from collections import Counter
from pathlib import Path

import pytest
from cotpd.corpus.conll import format_conll, read_conll
from cotpd.corpus.mnre import format_mnre, read_mnre

pytestmark = pytest.mark.shared_data

# Counted in the files themselves (B- labels per type; relations per instance).
TWITTER2017_ENTITIES = {
    "train": {"LOC": 731, "MISC": 701, "ORG": 1674, "PER": 2943},
    "dev": {"LOC": 173, "MISC": 150, "ORG": 375, "PER": 626},
    "test": {"LOC": 178, "MISC": 157, "ORG": 395, "PER": 621},
}
TWITTER2017_FILES = {"train": "train.txt", "dev": "valid.txt", "test": "test.txt"}
MNRE_FILES = {"train": "mnre_train.txt", "dev": "mnre_val .txt"}


def entity_begins(path: Path) -> Counter[str]:
    """A plain count of the file's B- labels by type, independent of the reader."""
    return Counter(line.split("\t")[1][2:] for line in path.read_text(encoding="utf-8").splitlines()
                   if "\t" in line and line.split("\t")[1].startswith("B-"))


def test_twitter2017_stats(shared_data: Path, cotpd) -> None:
    result = cotpd("data", "stats", shared_data / "twitter2017", "--json")
    assert result.exit_code == 0, result.err
    stats = json.loads(result.out)
    assert stats["task"] == "mner"
    sizes = {split: s["sentences"] for split, s in stats["splits"].items()}
    assert sizes == {"train": 3373, "dev": 723, "test": 723}
    # Every B- starts an entity: the counts equal a plain count of B- labels, type by type.
    for split, name in TWITTER2017_FILES.items():
        counts = stats["splits"][split]["label_counts"]
        assert counts == TWITTER2017_ENTITIES[split], split
        assert counts == dict(entity_begins(shared_data / "twitter2017" / name)), split
        assert stats["splits"][split]["problems"] == {}


def test_mnre_stats(shared_data: Path, cotpd) -> None:
    result = cotpd("data", "stats", shared_data / "mnre", "--json")
    assert result.exit_code == 0, result.err
    stats = json.loads(result.out)
    assert stats["task"] == "mre"
    assert stats["splits"]["train"]["sentences"] == 12247
    assert stats["splits"]["dev"]["sentences"] == 1624
    labels = json.loads((shared_data / "mnre" / "ours_rel2id.json").read_text())
    assert set(stats["splits"]["train"]["label_counts"]) == set(labels)
    # One relation per instance: the counts equal a plain count of the files' relations.
    for split, name in MNRE_FILES.items():
        lines = (shared_data / "mnre" / name).read_text(encoding="utf-8").splitlines()
        relations = Counter(ast.literal_eval(line)["relation"] for line in lines if line.strip())
        assert stats["splits"][split]["label_counts"] == dict(relations), split
        assert sum(relations.values()) == stats["splits"][split]["sentences"]
    assert stats["splits"]["train"]["label_counts"]["/loc/loc/contain"] == 629
    assert stats["splits"]["dev"]["label_counts"]["/loc/loc/contain"] == 82


@pytest.mark.parametrize("split", ["train.txt", "valid.txt", "test.txt"])
def test_twitter2017_round_trip(shared_data: Path, split: str) -> None:
    path = shared_data / "twitter2017" / split
    result = read_conll(path, entity_types={"PER", "LOC", "ORG", "MISC"})
    assert format_conll(result.samples, result.newline).encode("utf-8") == path.read_bytes()


@pytest.mark.parametrize("split", ["mnre_train.txt", "mnre_val .txt"])
def test_mnre_round_trip(shared_data: Path, split: str) -> None:
    path = shared_data / "mnre" / split
    assert format_mnre(read_mnre(path).samples).encode("utf-8") == path.read_bytes()
