"""report.md from plain dicts, knowledge statistics, and the study table's arithmetic."""

import statistics

from cotpd.corpus.records import MnerSample, SampleContext
from cotpd.eval.knowledge_quality import knowledge_quality
from cotpd.eval.report import knowledge_statistics, render_report
from cotpd.eval.study_table import aggregate, format_markdown, mean_std
from hypothesis import given
from hypothesis import strategies as st


def _sample(tokens: str, labels: list[str], knowledge: str | None) -> MnerSample:
    return MnerSample(id=tokens, tokens=tokens.split(), labels=labels, image_id=None,
                      context=SampleContext(knowledge=knowledge))


SAMPLES = [_sample("Taylor Swift in Paris", ["B-PER", "I-PER", "O", "B-LOC"],
                   "Taylor Swift: a singer. Paris: the capital of France."),
           _sample("#NBA finals", ["B-ORG", "O"], "NBA: a basketball league."),
           _sample("good morning", ["O", "O"], None)]


def test_knowledge_statistics_count_lengths_and_missing() -> None:
    stats = knowledge_statistics(SAMPLES, {"teacher": "t", "backend": "import",
                                           "fingerprint": "f", "answered": 2, "failed": 0,
                                           "skipped_done": 0, "knowledge": {"within_budget": 2}})
    assert stats["with_knowledge"] == 2 and stats["without_knowledge"] == 1
    assert stats["words_max"] == 9 and stats["assembly"] == {"within_budget": 2}


def test_knowledge_quality_counts_named_gold_entities() -> None:
    rows = [{"answered": 3, "failed": 1, "prompt_tokens": 10, "completion_tokens": 5}]
    quality = knowledge_quality(SAMPLES, rows)
    # Taylor Swift, Paris and NBA (the hashtag's `#` is ignored) are all named.
    assert quality["gold_entities"] == 3 and quality["gold_entities_named"] == 3
    assert quality["failure_rate"] == 0.25 and quality["tokens_out"] == 5
    unnamed = knowledge_quality([_sample("Kim Lee", ["B-PER", "I-PER"], "a person")])
    assert unnamed["entity_coverage"] == 0.0 and "failure_rate" not in unnamed


def test_report_has_every_section() -> None:
    micro = {"precision": 0.5, "recall": 0.25, "f1": 1 / 3, "n_gold": 4, "n_pred": 2, "tp": 1,
             "support": 4}
    metrics = {"run": "r", "dataset": "demo_mner", "task": "mner", "variant": "cpd",
               "encoder": "embedded:minilm", "infer_view": "prompt",
               "teacher": {"name": "gemma"}, "headline": {"split": "test", **micro},
               "splits": {"dev": {"micro": micro, "per_type": {"PER": micro}},
                          "test": {"micro": micro, "per_type": {"PER": micro}}},
               "knowledge": {"test": knowledge_statistics(SAMPLES, None)},
               "stages": {"train": {"seconds": 3.0, "notes": "9 steps"}},
               "fingerprints": {"config": "c", "data": {"a.txt": "d"}}, "git": {}}
    worst = [{"id": "x", "errors": 2, "text": "a | b", "gold": ["a [PER]"], "predicted": [],
              "knowledge": "k " * 400, "caption": None}]
    text = render_report(metrics, {"PER": {"(missed)": 1}}, worst, ["plots/per_type_f1.png"])
    for heading in ("## Scores", "## Per type (test)", "## Confusion", "worst errors",
                    "## Knowledge", "## Time and tokens per stage", "## Plots", "## Provenance"):
        assert heading in text
    assert "**test F1 33.33**" in text and "a \\| b" in text  # pipes escaped in cells
    assert " ..." in text  # long knowledge is cut in the report


@given(st.lists(st.floats(0, 1), min_size=1, max_size=10))
def test_mean_std_matches_statistics(values) -> None:
    mean, std = mean_std(values)
    assert abs(mean - statistics.fmean(values)) < 1e-9
    assert std == (statistics.stdev(values) if len(values) > 1 else 0.0)


def test_aggregate_groups_cells_over_seeds() -> None:
    rows = [{"cell": {"teacher": t}, "seed": s, "scores": {"test.f1": f}}
            for t, s, f in [("a", 1, 0.5), ("a", 2, 0.7), ("b", 1, 0.4)]]
    table = aggregate(rows, ["teacher"], ["test.f1"])
    assert [(e["teacher"], e["n"], e["seeds"]) for e in table] == [("a", 2, [1, 2]),
                                                                    ("b", 1, [1])]
    assert abs(table[0]["test.f1"][0] - 0.6) < 1e-9 and table[1]["test.f1"][1] == 0.0
    text = format_markdown(table, ["teacher"], ["test.f1"])
    assert "| a | 2 | 60.00 ± 14.14 |" in text
