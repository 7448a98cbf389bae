"""Entities seen in training vs unseen: hand-counted examples, the demo data's counts, and
the property that the two groups add up to the overall scores."""

from pathlib import Path

from cotpd.corpus.conll import read_conll
from cotpd.eval.metrics import mner_scores
from cotpd.eval.report import render_report
from cotpd.eval.seen_unseen import seen_surfaces, seen_unseen_scores
from hypothesis import given
from hypothesis import strategies as st

DEMO = Path(__file__).resolve().parents[2] / "data" / "demo_mner"


def test_groups_by_case_folded_surface_of_any_training_type() -> None:
    seen = seen_surfaces([(["Kawhi", "Leonard", "wins"], ["B-PER", "I-PER", "O"]),
                          (["the", "Raptors"], ["O", "B-ORG"])])
    assert seen == {"kawhi leonard", "raptors"}
    tokens = ["KAWHI", "LEONARD", "to", "Toronto", "raptors", "Drake"]
    gold = ["B-PER", "I-PER", "O", "B-LOC", "B-ORG", "B-PER"]
    # Kawhi Leonard right (seen); Toronto as ORG (unseen, wrong type); raptors missed
    # (seen); Drake right (unseen); "to" a false positive (unseen).
    pred = ["B-PER", "I-PER", "B-MISC", "B-ORG", "O", "B-PER"]
    scores = seen_unseen_scores([tokens], [gold], [pred], seen)
    seen_micro, unseen_micro = scores["seen"]["micro"], scores["unseen"]["micro"]
    assert (seen_micro["tp"], seen_micro["n_pred"], seen_micro["n_gold"]) == (1, 1, 2)
    assert (unseen_micro["tp"], unseen_micro["n_pred"], unseen_micro["n_gold"]) == (1, 3, 2)
    assert seen_micro["recall"] == 0.5 and seen_micro["precision"] == 1.0
    assert unseen_micro["recall"] == 0.5 and abs(unseen_micro["f1"] - 0.4) < 1e-12
    assert scores["seen"]["per_type"]["ORG"]["n_gold"] == 1
    assert set(scores["unseen"]["per_type"]) == {"LOC", "ORG", "PER", "MISC"}


def test_demo_counts_match_the_hand_count() -> None:
    # data/README.md, counted by hand: 55 of 64 dev and 55 of 63 test entities are not in
    # train; the 8 test entities that are: 5 people, 2 organisations, 1 place.
    train = read_conll(DEMO / "train.txt").samples
    seen = seen_surfaces((s.tokens, s.labels) for s in train)
    counts = {}
    for name, split in (("dev", "valid"), ("test", "test")):
        samples = read_conll(DEMO / f"{split}.txt").samples
        labels = [s.labels for s in samples]
        counts[name] = seen_unseen_scores([s.tokens for s in samples], labels, labels, seen)
    assert counts["dev"]["seen"]["micro"]["n_gold"] == 9
    assert counts["dev"]["unseen"]["micro"]["n_gold"] == 55
    assert counts["test"]["unseen"]["micro"]["n_gold"] == 55
    per_type = counts["test"]["seen"]["per_type"]
    assert {k: v["n_gold"] for k, v in per_type.items()} == {"LOC": 1, "ORG": 2, "PER": 5}
    assert counts["test"]["seen"]["micro"]["f1"] == 1.0  # gold scored against itself


LABELS = st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"])
WORDS = st.sampled_from(["a", "b", "A", "c"])


@st.composite
def _sentences(draw: st.DrawFn) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    lengths = draw(st.lists(st.integers(1, 6), min_size=1, max_size=5))
    tokens = [draw(st.lists(WORDS, min_size=n, max_size=n)) for n in lengths]
    gold = [draw(st.lists(LABELS, min_size=n, max_size=n)) for n in lengths]
    pred = [draw(st.lists(LABELS, min_size=n, max_size=n)) for n in lengths]
    return tokens, gold, pred


@given(_sentences(), st.sets(st.sampled_from(["a", "b", "c", "a b", "b c"])))
def test_groups_add_up_to_the_overall_counts(data, seen) -> None:
    tokens, gold, pred = data
    overall = mner_scores(gold, pred).micro
    groups = seen_unseen_scores(tokens, gold, pred, seen)
    for field in ("tp", "n_pred", "n_gold"):
        assert groups["seen"]["micro"][field] + groups["unseen"]["micro"][field] == getattr(
            overall, field)
    nothing_seen = seen_unseen_scores(tokens, gold, pred, set())
    assert nothing_seen["seen"]["micro"]["n_gold"] == 0
    assert nothing_seen["unseen"]["micro"]["tp"] == overall.tp


def test_report_shows_the_table() -> None:
    micro = {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "n_gold": 2, "n_pred": 1, "tp": 1,
             "support": 2}
    groups = {"seen": {"micro": micro, "per_type": {"PER": micro}},
              "unseen": {"micro": micro, "per_type": {}}}
    metrics = {"run": "r", "dataset": "demo_mner", "task": "mner", "variant": "text",
               "encoder": "e", "infer_view": "text", "teacher": None,
               "headline": {"split": "test", **micro},
               "splits": {"test": {"micro": micro, "per_type": {"PER": micro}}},
               "seen_unseen": {"test": groups}, "knowledge": {}, "stages": {},
               "fingerprints": {}, "git": {}}
    text = render_report(metrics, {}, [], [])
    assert "## Entities seen in training vs unseen (test)" in text
    assert "| seen | all | 2 | 1 | 100.00 | 50.00 | 66.67 |" in text
    assert "| seen | PER | 2 | 1 |" in text


def test_study_metrics_read_groups_and_training_time() -> None:
    from cotpd.eval.study_table import aggregate, format_markdown
    from cotpd.pipeline.study import metric_value

    micro = {"f1": 0.5, "precision": 0.5, "recall": 0.5}
    metrics = {"splits": {"test": {"micro": {"f1": 0.8}}},
               "seen_unseen": {"test": {"seen": {"micro": {"f1": 0.9}},
                                        "unseen": {"micro": micro}}},
               "stages": {"train": {"seconds": 120.0}}}
    assert metric_value(metrics, "test.f1") == 0.8
    assert metric_value(metrics, "test.unseen.f1") == 0.5
    assert metric_value(metrics, "train.seconds") == 120.0
    assert metric_value(metrics, "dev.unseen.f1") is None
    assert metric_value({"splits": {}}, "train.seconds") is None
    rows = [{"cell": {"s": "a"}, "seed": seed, "scores": {"test.unseen.f1": f, "train.seconds": t}}
            for seed, f, t in ((1, 0.5, 100.0), (2, 0.7, 140.0))]
    names = ["test.unseen.f1", "train.seconds"]
    text = format_markdown(aggregate(rows, ["s"], names), ["s"], names)
    assert "| a | 2 | 60.00 ± 14.14 | 120 ± 28 s |" in text
